"""VideoMAE: a transformers ``VideoMAEForVideoClassification`` checkpoint (``config.json`` + ``pytorch_model.bin``
as a torch zip, or ``model.safetensors``) converted to ONNX torch-free, checked against a NumPy VideoMAE written
here from ``modeling_videomae``, then pulled through the loopback mirror and run by the real pipeline."""

from __future__ import annotations

import collections
import io
import json
import math
import pickle
import struct
import sys
import types
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
from scipy.special import erf

from medialens.models.convert import VIDEOMAE_WEIGHTS, videomae
from medialens.models.convert.torch_pickle import CheckpointError
from medialens.models.errors import ModelError
from medialens.models.installed import pull
from medialens.models.pipelines import pipeline_class
from medialens.models.pipelines.videomae import FRAMES, SIZE
from medialens.models.registry import get_spec
from tests.unit.models.conftest import Mirror

REPO = "nateraw/videomae-base-finetuned-ucf101"
TINY = {  # 4 frames of 32 x 32: 2 tubelets x 2 x 2 patches = 8 tokens
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 48,
    "image_size": 32,
    "patch_size": 16,
    "num_frames": 4,
    "tubelet_size": 2,
    "num_channels": 3,
    "layer_norm_eps": 1e-12,
    "hidden_act": "gelu",
    "qkv_bias": True,
    "use_mean_pooling": True,
}
LABELS = ["ApplyEyeMakeup", "Basketball", "Biking", "Diving", "YoYo"]


def config(**over: Any) -> dict[str, Any]:
    cfg = {**TINY, **over, "architectures": ["VideoMAEForVideoClassification"], "model_type": "videomae"}
    cfg["id2label"] = {str(i): n for i, n in enumerate(over.get("labels", LABELS))}
    cfg.pop("labels", None)
    return cfg


def videomae_state(cfg: dict[str, Any], seed: int = 0) -> dict[str, np.ndarray]:
    """Random weights under transformers' names (``videomae.`` prefix; head ``fc_norm`` or ``layernorm``)."""
    rng = np.random.default_rng(seed)
    d, i, c = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_channels"]
    t, p = cfg["tubelet_size"], cfg["patch_size"]

    def normal(*shape: int, scale: float = 0.2) -> np.ndarray:
        return rng.normal(0, scale, shape).astype(np.float32)

    sd = {
        "videomae.embeddings.patch_embeddings.projection.weight": normal(d, c, t, p, p, scale=0.05),
        "videomae.embeddings.patch_embeddings.projection.bias": normal(d),
    }
    for n in range(cfg["num_hidden_layers"]):
        q = f"videomae.encoder.layer.{n}."
        for name in ("query", "key", "value"):
            sd[f"{q}attention.attention.{name}.weight"] = normal(d, d)
        if cfg["qkv_bias"]:
            sd[f"{q}attention.attention.q_bias"], sd[f"{q}attention.attention.v_bias"] = normal(d), normal(d)
        dense = (("attention.output.dense", (d, d)), ("intermediate.dense", (i, d)), ("output.dense", (d, i)))
        for name, shape in dense:
            sd[f"{q}{name}.weight"], sd[f"{q}{name}.bias"] = normal(*shape), normal(shape[0])
        for name in ("layernorm_before", "layernorm_after"):
            sd[f"{q}{name}.weight"], sd[f"{q}{name}.bias"] = 1 + normal(d), normal(d)
    head = "fc_norm" if cfg["use_mean_pooling"] else "videomae.layernorm"
    sd[f"{head}.weight"], sd[f"{head}.bias"] = 1 + normal(d), normal(d)
    sd["classifier.weight"], sd["classifier.bias"] = normal(len(cfg["id2label"]), d), normal(len(cfg["id2label"]))
    return sd


# --- the checkpoint files, as transformers writes them (a stand-in torch module; the reader never imports one) ------
def torch_zip(state: dict[str, np.ndarray], monkeypatch: pytest.MonkeyPatch) -> bytes:
    """``torch.save(state_dict)`` in the zip format: ``archive/data.pkl`` + one raw storage per tensor."""
    torch, utils = types.ModuleType("torch"), types.ModuleType("torch._utils")
    storage = type("FloatStorage", (), {"__module__": "torch"})
    torch.FloatStorage = storage

    def _rebuild_tensor_v2(*args):  # pragma: no cover - only pickled by reference
        raise AssertionError

    _rebuild_tensor_v2.__module__, _rebuild_tensor_v2.__qualname__ = "torch._utils", "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    arrays: list[np.ndarray] = []

    class Ref:
        def __init__(self, arr: np.ndarray) -> None:
            self.key, self.arr = str(len(arrays)), np.ascontiguousarray(arr, np.float32)
            arrays.append(self.arr)

    class Tensor:
        def __init__(self, arr: np.ndarray) -> None:
            self.ref = Ref(arr)

        def __reduce__(self):
            a = self.ref.arr
            stride = tuple(s // a.itemsize for s in a.strides)
            return _rebuild_tensor_v2, (self.ref, 0, a.shape, stride, False, collections.OrderedDict())

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            return ("storage", storage, obj.key, "cpu", obj.arr.size) if isinstance(obj, Ref) else None

    with monkeypatch.context() as m:
        m.setitem(sys.modules, "torch", torch)
        m.setitem(sys.modules, "torch._utils", utils)
        buf = io.BytesIO()
        Pickler(buf, protocol=2).dump(collections.OrderedDict((k, Tensor(v)) for k, v in state.items()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("archive/data.pkl", buf.getvalue())
        zf.writestr("archive/version", "3\n")
        for key, arr in enumerate(arrays):
            zf.writestr(f"archive/data/{key}", arr.tobytes())
    return out.getvalue()


def safetensors(state: dict[str, np.ndarray]) -> bytes:
    header: dict[str, Any] = {"__metadata__": {"format": "pt"}}
    blobs, offset = [], 0
    for k, v in state.items():
        raw = np.ascontiguousarray(v, "<f4").tobytes()
        header[k] = {"dtype": "F32", "shape": list(v.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    head = json.dumps(header).encode()
    return struct.pack("<Q", len(head)) + head + b"".join(blobs)


# --- VideoMAE in NumPy (float64), after transformers' modeling_videomae ----------------------------------------------
def sinusoid(n: int, d: int) -> np.ndarray:
    table = np.array([[pos / np.power(10000, 2 * (j // 2) / d) for j in range(d)] for pos in range(n)])
    table[:, 0::2], table[:, 1::2] = np.sin(table[:, 0::2]), np.cos(table[:, 1::2])
    return table


def numpy_videomae(sd: dict[str, np.ndarray], cfg: dict[str, Any], clip: np.ndarray) -> np.ndarray:
    """Logits of one clip [T, C, H, W]."""
    w = {k.removeprefix("videomae."): v.astype(np.float64) for k, v in sd.items()}
    t, p, d, heads = cfg["tubelet_size"], cfg["patch_size"], cfg["hidden_size"], cfg["num_attention_heads"]
    eps = cfg["layer_norm_eps"]
    frames, c, h, wd = clip.shape
    # Conv3d with kernel = stride: each tubelet x patch x patch block dotted with the kernel, tokens in (t, y, x) order
    blocks = clip.astype(np.float64).reshape(frames // t, t, c, h // p, p, wd // p, p).transpose(0, 3, 5, 2, 1, 4, 6)
    proj = w["embeddings.patch_embeddings.projection.weight"]
    x = blocks.reshape(-1, c * t * p * p) @ proj.reshape(d, -1).T + w["embeddings.patch_embeddings.projection.bias"]
    x = x + sinusoid(len(x), d)

    def ln(v: np.ndarray, key: str) -> np.ndarray:
        mu, var = v.mean(-1, keepdims=True), v.var(-1, keepdims=True)
        return (v - mu) / np.sqrt(var + eps) * w[f"{key}.weight"] + w[f"{key}.bias"]

    def dense(v: np.ndarray, key: str) -> np.ndarray:
        return v @ w[f"{key}.weight"].T + w[f"{key}.bias"]

    for n in range(cfg["num_hidden_layers"]):
        a = f"encoder.layer.{n}.attention.attention."
        y = ln(x, f"encoder.layer.{n}.layernorm_before")
        zero = np.zeros(d)
        q = y @ w[a + "query.weight"].T + w.get(a + "q_bias", zero)
        k = y @ w[a + "key.weight"].T
        v = y @ w[a + "value.weight"].T + w.get(a + "v_bias", zero)
        split = lambda m: m.reshape(len(m), heads, -1).transpose(1, 0, 2)  # noqa: E731
        s = split(q) @ split(k).transpose(0, 2, 1) / math.sqrt(d // heads)
        s = np.exp(s - s.max(-1, keepdims=True))
        ctx = ((s / s.sum(-1, keepdims=True)) @ split(v)).transpose(1, 0, 2).reshape(len(x), d)
        x = dense(ctx, f"encoder.layer.{n}.attention.output.dense") + x
        y = dense(ln(x, f"encoder.layer.{n}.layernorm_after"), f"encoder.layer.{n}.intermediate.dense")
        x = dense(0.5 * y * (1 + erf(y / math.sqrt(2))), f"encoder.layer.{n}.output.dense") + x
    feats = ln(x.mean(0), "fc_norm") if cfg["use_mean_pooling"] else ln(x, "layernorm")[0]
    return dense(feats, "classifier")


def convert_files(tmp_path: Path, cfg: dict[str, Any], weights: bytes) -> ort.InferenceSession:
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    (tmp_path / VIDEOMAE_WEIGHTS).write_bytes(weights)
    videomae.convert(tmp_path)
    return ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])


@pytest.mark.parametrize(
    "over",
    [{}, {"use_mean_pooling": False}, {"qkv_bias": False, "layer_norm_eps": 0.3}],
    ids=["mean-pooling", "first-token", "no-qkv-bias"],
)
def test_converted_checkpoint_matches_numpy_videomae(tmp_path: Path, monkeypatch, over: dict[str, Any]) -> None:
    cfg = config(**over)
    sd = videomae_state(cfg)
    sess = convert_files(tmp_path, cfg, torch_zip(sd, monkeypatch))
    assert [i.name for i in sess.get_inputs()] == ["pixel_values"]
    assert [o.name for o in sess.get_outputs()] == ["logits"]
    clips = np.random.default_rng(1).normal(size=(2, 4, 3, 32, 32)).astype(np.float32)
    got = sess.run(None, {"pixel_values": clips})[0]
    want = np.stack([numpy_videomae(sd, cfg, c) for c in clips])
    assert got.shape == (2, len(LABELS))
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    assert np.abs(want[0] - want[1]).max() > 0.1  # the clips are told apart: the test can fail


def test_safetensors_weights_convert_to_the_same_model(tmp_path: Path, monkeypatch) -> None:
    cfg = config()
    sd = videomae_state(cfg, seed=3)
    clip = np.random.default_rng(2).normal(size=(1, 4, 3, 32, 32)).astype(np.float32)
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    a = convert_files(tmp_path / "a", cfg, safetensors(sd))
    b = convert_files(tmp_path / "b", cfg, torch_zip(sd, monkeypatch))
    np.testing.assert_array_equal(a.run(None, {"pixel_values": clip})[0], b.run(None, {"pixel_values": clip})[0])
    np.testing.assert_allclose(a.run(None, {"pixel_values": clip})[0][0], numpy_videomae(sd, cfg, clip[0]), atol=1e-4)


def test_the_position_table_is_transformers_sinusoid() -> None:
    np.testing.assert_allclose(videomae.sinusoid_table(40, 12)[0], sinusoid(40, 12), atol=1e-7)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("drop-key", "encoder.layer.1.attention.attention.key.weight is missing"),
        ("labels", "id2label does not match"),
        ("act", "hidden_act 'relu' is not supported"),
        ("patch", "patch projection .* does not match config.json"),
        ("layers", "more than num_hidden_layers=1"),
        ("not-a-checkpoint", "neither safetensors nor a PyTorch checkpoint"),
    ],
)
def test_a_checkpoint_that_does_not_fit_is_refused(tmp_path: Path, monkeypatch, damage: str, message: str) -> None:
    cfg = config()
    sd = videomae_state(cfg)
    if damage == "drop-key":
        del sd["videomae.encoder.layer.1.attention.attention.key.weight"]
    elif damage == "labels":
        cfg["id2label"] = {"0": "only"}
    elif damage == "act":
        cfg["hidden_act"] = "relu"
    elif damage == "patch":
        cfg["patch_size"] = 8
    elif damage == "layers":
        cfg["num_hidden_layers"] = 1
    weights = b"\x00" * 64 if damage == "not-a-checkpoint" else torch_zip(sd, monkeypatch)
    with pytest.raises(CheckpointError, match=message):
        convert_files(tmp_path, cfg, weights)
    assert not (tmp_path / "model.onnx").exists()


# --- pulled through the loopback mirror ------------------------------------------------------------------------------
def full_size(**over: Any) -> dict[str, Any]:
    """The pipeline's geometry (16 frames of 224 x 224) with a narrow network."""
    return config(hidden_size=8, intermediate_size=16, num_hidden_layers=1, num_attention_heads=2, num_frames=FRAMES,
                  image_size=SIZE, **over)  # fmt: skip


def test_the_spec_tries_safetensors_then_pytorch_model_bin() -> None:
    spec = get_spec("videomae-base-ucf101")
    assert [dict(s.files) for s in spec.sources] == [
        {"model.safetensors": VIDEOMAE_WEIGHTS, "config.json": "config.json"},
        {"pytorch_model.bin": VIDEOMAE_WEIGHTS, "config.json": "config.json"},
    ]
    assert {s.repo_id for s in spec.sources} == {REPO}
    assert spec.raw_files == (VIDEOMAE_WEIGHTS, "config.json") and spec.files == ("model.onnx", "config.json")


@pytest.mark.parametrize("weights_file", ["pytorch_model.bin", "model.safetensors"])
def test_pull_converts_the_checkpoint_and_the_pipeline_runs_it(
    mirror: Mirror, settings, monkeypatch, weights_file: str
) -> None:
    cfg = full_size()
    sd = videomae_state(cfg, seed=5)
    data = torch_zip(sd, monkeypatch) if weights_file == "pytorch_model.bin" else safetensors(sd)
    mirror.hf_file(REPO, "main", weights_file, data)  # only this one: the other name answers 404
    mirror.hf_file(REPO, "main", "config.json", json.dumps(cfg).encode())
    path = pull("videomae-base-ucf101", settings=settings)
    assert sorted(p.name for p in path.iterdir()) == ["config.json", "manifest.json", "model.onnx"]
    origin = json.loads((path / "manifest.json").read_text())["origin"]
    assert weights_file in json.dumps(origin)

    pipe = pipeline_class("videomae-base-ucf101")(path, settings)
    rng = np.random.default_rng(7)
    frames = [rng.integers(0, 256, (240, 320, 3), dtype=np.uint8) for _ in range(20)]
    pre = pipe.preprocess(frames)
    want = numpy_videomae(sd, cfg, pre)
    np.testing.assert_allclose(pipe.forward([pre])[0], want, rtol=1e-4, atol=1e-4)
    res = pipe(frames)
    assert res.names == LABELS
    assert int(np.argmax(res.probs)) == int(np.argmax(want))
    assert res.probs.sum() == pytest.approx(1.0, abs=1e-5)


def test_a_repo_with_neither_weights_file_fails_the_pull(mirror: Mirror, settings) -> None:
    mirror.hf_file(REPO, "main", "config.json", json.dumps(full_size()).encode())
    with pytest.raises(ModelError, match=r"model\.safetensors.*404.*pytorch_model\.bin.*404|every source failed"):
        pull("videomae-base-ucf101", settings=settings)
    assert not (Path(settings.model_dir) / "videomae-base-ucf101").exists()


def test_a_checkpoint_of_another_network_fails_the_pull(mirror: Mirror, settings, monkeypatch) -> None:
    cfg = full_size()
    sd = {k: v for k, v in videomae_state(cfg).items() if "classifier" not in k}
    mirror.hf_file(REPO, "main", "pytorch_model.bin", torch_zip(sd, monkeypatch))
    mirror.hf_file(REPO, "main", "config.json", json.dumps(cfg).encode())
    with pytest.raises(ModelError, match=r"conversion failed.*classifier\.weight is missing"):
        pull("videomae-base-ucf101", settings=settings)
    assert not (Path(settings.model_dir) / "videomae-base-ucf101").exists()
