"""A Keras 2 ``Sequential`` model saved as HDF5 -> ONNX, TensorFlow-free (read with h5py at pull time only).

Covers the layers of inaSpeechSegmenter's CNNs: Reshape (to [H, W, 1]), Conv2D, BatchNormalization, Activation,
MaxPooling2D ('valid' or 'same'), Flatten, Dense, Dropout (dropped: inference). Keras is channels-last; the ONNX
graph is channels-first: the [N, H, W] input becomes [N, 1, H, W], kernels [kh, kw, in, out] become
[out, in, kh, kw], and Flatten transposes back to [N, H, W, C] first so that Dense sees Keras's order. A
BatchNormalization right after a Conv2D or Dense is folded into it. Input ``input`` [N, H, W]; output ``probs``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper

from medialens.models.convert.mobilenet import GraphBuilder, save_model

OPSET = 13
ACTIVATIONS = {"relu": "Relu", "softmax": "Softmax", "sigmoid": "Sigmoid", "tanh": "Tanh"}


@dataclass(frozen=True)
class Layer:
    kind: str
    name: str
    config: dict[str, Any]
    weights: dict[str, np.ndarray]


def read_sequential(path: Path) -> list[Layer]:
    """The layers of a Keras 2 Sequential HDF5 file, each with its weights by short name (kernel, bias, ...)."""
    import h5py

    with h5py.File(path, "r") as f:
        config = json.loads(f.attrs["model_config"])
        if config["class_name"] != "Sequential":
            raise ValueError(f"{path.name}: a {config['class_name']} model, not a Keras Sequential")
        specs = config["config"]["layers"] if isinstance(config["config"], dict) else config["config"]
        groups = f["model_weights"]
        layers = []
        for spec in specs:
            name = spec["config"]["name"]
            weights: dict[str, np.ndarray] = {}
            if name in groups:
                groups[name].visititems(
                    lambda key, obj, w=weights: (
                        w.__setitem__(key.rsplit("/", 1)[-1].split(":")[0], obj[()]) if hasattr(obj, "shape") else None
                    )
                )
            layers.append(Layer(spec["class_name"], name, spec["config"], weights))
    return layers


def _bn_scale(bn: Layer) -> tuple[np.ndarray, np.ndarray]:
    w, eps = bn.weights, float(bn.config.get("epsilon", 1e-3))
    scale = w.get("gamma", np.ones_like(w["moving_mean"])) / np.sqrt(w["moving_variance"] + eps)
    shift = w.get("beta", np.zeros_like(w["moving_mean"])) - w["moving_mean"] * scale
    return scale.astype(np.float32), shift.astype(np.float32)


def _activation(g: GraphBuilder, x: str, name: str) -> str:
    if name == "linear":
        return x
    if name not in ACTIVATIONS:
        raise ValueError(f"unsupported Keras activation {name!r}")
    return g.op(ACTIVATIONS[name], [x], axis=-1) if name == "softmax" else g.op(ACTIVATIONS[name], [x])


def _pool(g: GraphBuilder, x: str, cfg: dict[str, Any]) -> str:
    pads = {"valid": "VALID", "same": "SAME_UPPER"}[cfg["padding"]]  # TF puts the odd padding after
    return g.op("MaxPool", [x], kernel_shape=list(cfg["pool_size"]), strides=list(cfg["strides"]), auto_pad=pads)


def build_model(layers: list[Layer], graph_name: str) -> onnx.ModelProto:
    """The ONNX graph of ``layers`` (from ``read_sequential``); batch dimension dynamic."""
    first = layers[0].config.get("batch_input_shape")
    if not first or len(first) != 3:
        raise ValueError("expected a [N, H, W] input (batch_input_shape on the first layer)")
    height, width = int(first[1]), int(first[2])
    g = GraphBuilder()
    x, rank4, units = "input", False, None
    i = 0
    while i < len(layers):
        layer, cfg = layers[i], layers[i].config
        nxt = layers[i + 1] if i + 1 < len(layers) else None
        folded = nxt is not None and nxt.kind == "BatchNormalization"
        if layer.kind == "Reshape":
            target = list(cfg["target_shape"])
            if target != [height, width, 1]:
                raise ValueError(f"unsupported Reshape to {target}")
            x, rank4 = g.op("Unsqueeze", [x, g.const(np.array([1], np.int64), "axes")]), True
        elif layer.kind == "Conv2D":
            if cfg.get("padding") != "valid" or list(cfg.get("strides", [1, 1])) != [1, 1]:
                raise ValueError("only stride-1 'valid' Conv2D is supported")
            w = layer.weights["kernel"].transpose(3, 2, 0, 1).astype(np.float32)
            b = layer.weights.get("bias", np.zeros(w.shape[0], np.float32)).astype(np.float32)
            if folded:
                scale, shift = _bn_scale(nxt)
                w, b = w * scale[:, None, None, None], b * scale + shift
                i += 1
            x = g.op("Conv", [x, g.const(w, "w"), g.const(b, "b")], kernel_shape=list(w.shape[2:]))
            x = _activation(g, x, cfg.get("activation", "linear"))
        elif layer.kind == "Dense":
            w = layer.weights["kernel"].astype(np.float32)
            b = layer.weights.get("bias", np.zeros(w.shape[1], np.float32)).astype(np.float32)
            if folded:
                scale, shift = _bn_scale(nxt)
                w, b = w * scale[None, :], b * scale + shift
                i += 1
            x = g.op("Gemm", [x, g.const(w, "w"), g.const(b, "b")])
            x, units = _activation(g, x, cfg.get("activation", "linear")), w.shape[1]
        elif layer.kind == "BatchNormalization":  # not after a Conv2D or Dense: a per-channel affine
            scale, shift = _bn_scale(layer)
            shape = (1, -1, 1, 1) if rank4 else (1, -1)
            x = g.op("Mul", [x, g.const(scale.reshape(shape), "s")])
            x = g.op("Add", [x, g.const(shift.reshape(shape), "t")])
        elif layer.kind == "Activation":
            x = _activation(g, x, cfg["activation"])
        elif layer.kind == "MaxPooling2D":
            x = _pool(g, x, cfg)
        elif layer.kind == "Flatten":
            x = g.op("Flatten", [g.op("Transpose", [x], perm=[0, 2, 3, 1])], axis=1)
            rank4 = False
        elif layer.kind != "Dropout":
            raise ValueError(f"unsupported Keras layer {layer.kind}")
        i += 1
    x = g.op("Identity", [x], out="probs")
    return g.model(
        graph_name,
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", height, width])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", units])],
        OPSET,
    )


def convert_file(src: Path, dst: Path) -> None:
    save_model(build_model(read_sequential(src), src.stem), dst)
