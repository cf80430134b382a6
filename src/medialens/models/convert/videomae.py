"""A Hugging Face ``VideoMAEForVideoClassification`` checkpoint -> ONNX, torch-free.

The hub repos of fine-tuned VideoMAE models carry ``config.json`` and PyTorch weights (``pytorch_model.bin``, a
``torch.save`` zip, or ``model.safetensors``), not ONNX. The weights are read with ``torch_pickle`` or
``safetensors_np`` (the format is sniffed, so a source may deliver either under one name) and the network is
rebuilt with ``onnx.helper`` exactly as ``transformers``' ``modeling_videomae`` computes it:

* patch embedding: ``pixel_values`` [N, T, C, H, W] -> [N, C, T, H, W] -> Conv3d (kernel = stride = tubelet x
  patch x patch) -> [N, L, D], plus the fixed sinusoidal position table (not stored in the checkpoint);
* pre-norm encoder layers: LayerNorm -> self-attention (q and v biases, no k bias; scores / sqrt(head size),
  softmax) -> dense -> residual; LayerNorm -> dense -> exact (erf) GELU -> dense -> residual;
* head: with ``use_mean_pooling``, mean over tokens then ``fc_norm``; without, ``videomae.layernorm`` over the
  sequence and the first token; then ``classifier``.

Output ``logits`` [N, num_labels]; ``config.json`` stays installed for ``id2label``.
"""

from __future__ import annotations

import json
import pickle
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper

from medialens.models.convert import VIDEOMAE_WEIGHTS
from medialens.models.convert.mobilenet import GraphBuilder, save_model
from medialens.models.convert.safetensors_np import is_safetensors, load_safetensors
from medialens.models.convert.torch_pickle import CheckpointError, load_state_dict

OPSET = 17  # LayerNormalization
WEIGHTS = VIDEOMAE_WEIGHTS  # the raw weights, whichever format the source delivered
ONNX_FILE = "model.onnx"
CONFIG = "config.json"
PREFIX = "videomae."


@dataclass(frozen=True)
class VideoMAEConfig:
    """The fields of a ``VideoMAEConfig`` that shape the network (defaults: ``transformers``' own)."""

    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    image_size: int = 224
    patch_size: int = 16
    num_channels: int = 3
    num_frames: int = 16
    tubelet_size: int = 2
    layer_norm_eps: float = 1e-12
    qkv_bias: bool = True
    use_mean_pooling: bool = True
    hidden_act: str = "gelu"

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> VideoMAEConfig:
        known = {k: raw[k] for k in cls.__dataclass_fields__ if k in raw}
        cfg = cls(**known)
        if cfg.hidden_act != "gelu":
            raise CheckpointError(f"VideoMAE hidden_act {cfg.hidden_act!r} is not supported (only exact 'gelu')")
        if cfg.hidden_size % cfg.num_attention_heads:
            raise CheckpointError("hidden_size is not a multiple of num_attention_heads")
        return cfg

    @property
    def num_patches(self) -> int:
        return (self.num_frames // self.tubelet_size) * (self.image_size // self.patch_size) ** 2


def sinusoid_table(n_position: int, d_hid: int) -> np.ndarray:
    """``get_sinusoid_encoding_table``: angle pos / 10000^(2 * (j // 2) / d), sin on even j, cos on odd j."""
    pos = np.arange(n_position, dtype=np.float64)[:, None]
    j = np.arange(d_hid)
    table = pos / np.power(10000, 2 * (j // 2) / d_hid)
    table[:, 0::2] = np.sin(table[:, 0::2])
    table[:, 1::2] = np.cos(table[:, 1::2])
    return table.astype(np.float32)[None]


def load_weights(path: Path) -> dict[str, np.ndarray]:
    """The state dict, from safetensors or a ``torch.save`` file, with the ``videomae.`` prefix dropped."""
    if is_safetensors(path):
        sd = load_safetensors(path)
    else:
        try:
            sd = load_state_dict(path)
        except (pickle.UnpicklingError, EOFError, struct.error) as err:
            raise CheckpointError(f"neither safetensors nor a PyTorch checkpoint ({err})") from None
    return {k.removeprefix(PREFIX): v for k, v in sd.items()}


class _Weights:
    def __init__(self, sd: dict[str, np.ndarray]) -> None:
        self.sd = sd

    def __call__(self, key: str) -> np.ndarray:
        try:
            return np.asarray(self.sd[key], np.float32)
        except KeyError:
            raise CheckpointError(f"not a VideoMAEForVideoClassification state dict: {key} is missing") from None


def _linear(g: GraphBuilder, x: str, w: np.ndarray, b: np.ndarray | None) -> str:
    y = g.op("MatMul", [x, g.const(np.ascontiguousarray(w.T), "w")])
    return y if b is None else g.op("Add", [y, g.const(b, "b")])


def _layer_norm(g: GraphBuilder, x: str, w: _Weights, key: str, eps: float) -> str:
    gamma, beta = g.const(w(f"{key}.weight"), "ln_g"), g.const(w(f"{key}.bias"), "ln_b")
    return g.op("LayerNormalization", [x, gamma, beta], axis=-1, epsilon=eps)


def _gelu(g: GraphBuilder, x: str) -> str:
    """Exact GELU, 0.5 x (1 + erf(x / sqrt 2)) (``transformers``' "gelu")."""
    erf = g.op("Erf", [g.op("Div", [x, g.const(np.float32(np.sqrt(2.0)), "sqrt2")])])
    one_plus = g.op("Add", [erf, g.const(np.float32(1.0), "one")])
    return g.op("Mul", [g.op("Mul", [x, one_plus]), g.const(np.float32(0.5), "half")])


def _attention(g: GraphBuilder, x: str, w: _Weights, p: str, cfg: VideoMAEConfig) -> str:
    heads, dim = cfg.num_attention_heads, cfg.hidden_size // cfg.num_attention_heads
    q_bias = w(f"{p}.q_bias") if cfg.qkv_bias else None
    v_bias = w(f"{p}.v_bias") if cfg.qkv_bias else None
    split = g.const(np.array([0, 0, heads, dim], np.int64), "split")
    q = g.op("Transpose", [g.op("Reshape", [_linear(g, x, w(f"{p}.query.weight"), q_bias), split])], perm=[0, 2, 1, 3])
    k = g.op("Transpose", [g.op("Reshape", [_linear(g, x, w(f"{p}.key.weight"), None), split])], perm=[0, 2, 3, 1])
    v = g.op("Transpose", [g.op("Reshape", [_linear(g, x, w(f"{p}.value.weight"), v_bias), split])], perm=[0, 2, 1, 3])
    scores = g.op("Div", [g.op("MatMul", [q, k]), g.const(np.float32(np.sqrt(dim)), "sqrt_d")])
    ctx = g.op("MatMul", [g.op("Softmax", [scores], axis=-1), v])
    return g.op("Reshape", [g.op("Transpose", [ctx], perm=[0, 2, 1, 3]), g.const(np.array([0, 0, -1], np.int64))])


def build_model(sd: dict[str, np.ndarray], cfg: VideoMAEConfig) -> onnx.ModelProto:
    """The ONNX graph of ``VideoMAEForVideoClassification`` for ``sd`` (keys without the ``videomae.`` prefix)."""
    w = _Weights(sd)
    g = GraphBuilder()
    eps = float(cfg.layer_norm_eps)
    # patch embedding + fixed position table
    proj = w("embeddings.patch_embeddings.projection.weight")
    kernel = [cfg.tubelet_size, cfg.patch_size, cfg.patch_size]
    if proj.shape != (cfg.hidden_size, cfg.num_channels, *kernel):
        raise CheckpointError(f"patch projection {proj.shape} does not match config.json")
    x = g.op("Transpose", ["pixel_values"], perm=[0, 2, 1, 3, 4])
    x = g.op(
        "Conv",
        [x, g.const(proj, "patch_w"), g.const(w("embeddings.patch_embeddings.projection.bias"), "patch_b")],
        kernel_shape=kernel,
        strides=kernel,
    )
    x = g.op("Transpose", [g.op("Reshape", [x, g.const(np.array([0, cfg.hidden_size, -1], np.int64))])], perm=[0, 2, 1])
    pos = sd.get("embeddings.position_embeddings")  # never a parameter in transformers; computed like it is
    table = sinusoid_table(cfg.num_patches, cfg.hidden_size) if pos is None else np.asarray(pos, np.float32)
    x = g.op("Add", [x, g.const(table.reshape(1, cfg.num_patches, cfg.hidden_size), "pos")])
    for i in range(cfg.num_hidden_layers):
        p = f"encoder.layer.{i}"
        h = _attention(g, _layer_norm(g, x, w, f"{p}.layernorm_before", eps), w, f"{p}.attention.attention", cfg)
        h = _linear(g, h, w(f"{p}.attention.output.dense.weight"), w(f"{p}.attention.output.dense.bias"))
        x = g.op("Add", [h, x])
        h = _layer_norm(g, x, w, f"{p}.layernorm_after", eps)
        h = _gelu(g, _linear(g, h, w(f"{p}.intermediate.dense.weight"), w(f"{p}.intermediate.dense.bias")))
        x = g.op("Add", [_linear(g, h, w(f"{p}.output.dense.weight"), w(f"{p}.output.dense.bias")), x])
    if f"encoder.layer.{cfg.num_hidden_layers}.layernorm_before.weight" in sd:
        raise CheckpointError(f"the checkpoint has more than num_hidden_layers={cfg.num_hidden_layers} layers")
    if cfg.use_mean_pooling:
        feats = _layer_norm(g, g.op("ReduceMean", [x], axes=[1], keepdims=0), w, "fc_norm", eps)
    else:
        x = _layer_norm(g, x, w, "layernorm", eps)
        feats = g.op("Gather", [x, g.const(np.array(0, np.int64), "first")], axis=1)
    cls_w, cls_b = w("classifier.weight"), w("classifier.bias")
    scores = g.op("MatMul", [feats, g.const(np.ascontiguousarray(cls_w.T), "cls_w")])
    g.op("Add", [scores, g.const(cls_b, "cls_b")], out="logits")
    dims = ["N", cfg.num_frames, cfg.num_channels, cfg.image_size, cfg.image_size]
    return g.model(
        "videomae",
        [helper.make_tensor_value_info("pixel_values", TensorProto.FLOAT, dims)],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", cls_w.shape[0]])],
        OPSET,
    )


def convert(stage: Path) -> None:
    """``config.json`` + the raw weights in ``stage`` -> ``model.onnx`` (the raw weights are left for the caller)."""
    try:
        raw = json.loads((stage / CONFIG).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise CheckpointError(f"{CONFIG}: {err}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("id2label"), dict):
        raise CheckpointError(f"{CONFIG}: no id2label")
    cfg = VideoMAEConfig.from_json(raw)
    model = build_model(load_weights(stage / WEIGHTS), cfg)
    if model.graph.output[0].type.tensor_type.shape.dim[1].dim_value != len(raw["id2label"]):
        raise CheckpointError(f"{CONFIG}: id2label does not match the classifier's outputs")
    save_model(model, stage / ONNX_FILE)
