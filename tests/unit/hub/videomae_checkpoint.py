"""Checkpoints of transformers' ``VideoMAEForVideoClassification`` as its hub repos hold them: ``config.json``,
``pytorch_model.bin`` (``torch.save`` zip, written with a stand-in torch module; the reader never imports one) or
``model.safetensors``."""

from __future__ import annotations

import collections
import io
import json
import pickle
import struct
import sys
import types
import zipfile
from typing import Any

import numpy as np
import pytest

from medialens.models.pipelines.videomae import FRAMES, SIZE

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


def full_size(**over: Any) -> dict[str, Any]:
    """The pipeline's geometry (16 frames of 224 x 224) with a narrow network."""
    narrow = {"hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2}
    return config(**{**narrow, "num_frames": FRAMES, "image_size": SIZE, **over})
