"""VideoMAE: a transformers ``VideoMAEForVideoClassification`` checkpoint (``config.json`` + ``pytorch_model.bin``
as a torch zip, or ``model.safetensors``) converted to ONNX torch-free, checked against a NumPy VideoMAE written
here from ``modeling_videomae``, then pulled through the loopback mirror and run by the real pipeline."""

from __future__ import annotations

import json
import math
import struct
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
from medialens.models.registry import get_spec
from tests.unit.hub.videomae_checkpoint import (
    LABELS,
    REPO,
    config,
    full_size,
    safetensors,
    torch_zip,
    videomae_state,
)
from tests.unit.models.conftest import Mirror


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


def test_safetensors_reader_takes_bf16_and_refuses_what_does_not_add_up(tmp_path: Path) -> None:
    from medialens.models.convert.safetensors_np import load_safetensors

    def write(header: dict, body: bytes) -> Path:
        head = json.dumps(header).encode()
        path = tmp_path / "w.safetensors"
        path.write_bytes(struct.pack("<Q", len(head)) + head + body)
        return path

    x = np.array([1.5, -2.25, 3.0e-3], np.float32)
    bf16 = (x.view(np.uint32) >> 16).astype("<u2").tobytes()  # these values keep their top 16 bits
    got = load_safetensors(write({"x": {"dtype": "BF16", "shape": [3], "data_offsets": [0, 6]}}, bf16))["x"]
    np.testing.assert_allclose(got, x, rtol=1e-2)
    cases = [
        ({"x": {"dtype": "F32", "shape": [3], "data_offsets": [0, 16]}}, b"\0" * 12, "lies outside the file"),
        ({"x": {"dtype": "F32", "shape": [4], "data_offsets": [0, 12]}}, b"\0" * 12, "12 bytes for shape"),
        ({"x": {"dtype": "C64", "shape": [1], "data_offsets": [0, 8]}}, b"\0" * 8, "dtype C64 is not supported"),
        ({"x": {"shape": [1]}}, b"", "bad entry for x"),
        ({"__metadata__": {}}, b"", "no tensors"),
    ]
    for header, body, message in cases:
        with pytest.raises(CheckpointError, match=message):
            load_safetensors(write(header, body))
