"""A straightforward NumPy forward pass of a Keras 2 Sequential CNN (channels-last, float64, BatchNormalization
not folded), to check the ONNX graphs that ``medialens.models.convert.keras_h5`` builds against."""

from __future__ import annotations

from typing import Any

import numpy as np


def _conv_valid(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """x [N, H, W, C], kernel [kh, kw, C, O]: stride 1, no padding (a plain sum of shifted products)."""
    kh, kw = kernel.shape[:2]
    _, h, w, _ = x.shape
    out = np.zeros((len(x), h - kh + 1, w - kw + 1, kernel.shape[3]))
    for i in range(kh):
        for j in range(kw):
            out += np.einsum("nhwc,co->nhwo", x[:, i : i + h - kh + 1, j : j + w - kw + 1, :], kernel[i, j])
    return out + bias


def _max_pool(x: np.ndarray, pool: list[int], stride: list[int], padding: str) -> np.ndarray:
    _, h, w, _ = x.shape
    if padding == "same":  # TensorFlow: output ceil(size / stride), the odd padding row/column after
        oh, ow = -(-h // stride[0]), -(-w // stride[1])
        ph, pw = max((oh - 1) * stride[0] + pool[0] - h, 0), max((ow - 1) * stride[1] + pool[1] - w, 0)
        x = np.pad(x, ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)), constant_values=-np.inf)
    else:
        oh, ow = (h - pool[0]) // stride[0] + 1, (w - pool[1]) // stride[1] + 1
    out = np.full((len(x), oh, ow, x.shape[3]), -np.inf)
    for i in range(pool[0]):
        for j in range(pool[1]):
            out = np.maximum(out, x[:, i : i + oh * stride[0] : stride[0], j : j + ow * stride[1] : stride[1]])
    return out


def _activate(x: np.ndarray, name: str) -> np.ndarray:
    if name == "relu":
        return np.maximum(x, 0.0)
    if name == "softmax":
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    assert name == "linear", name
    return x


def forward(layers: list[Any], x: np.ndarray) -> np.ndarray:
    """``layers``: ``keras_h5.Layer`` records (kind, config, weights); x [N, H, W]."""
    y = np.asarray(x, np.float64)
    for layer in layers:
        cfg, w = layer.config, layer.weights
        if layer.kind == "Reshape":
            y = y.reshape((len(y), *cfg["target_shape"]))
        elif layer.kind == "Conv2D":
            y = _activate(_conv_valid(y, w["kernel"], w["bias"]), cfg["activation"])
        elif layer.kind == "Dense":
            y = _activate(y @ w["kernel"] + w["bias"], cfg["activation"])
        elif layer.kind == "BatchNormalization":
            y = (y - w["moving_mean"]) / np.sqrt(w["moving_variance"] + cfg["epsilon"]) * w["gamma"] + w["beta"]
        elif layer.kind == "Activation":
            y = _activate(y, cfg["activation"])
        elif layer.kind == "MaxPooling2D":
            y = _max_pool(y, cfg["pool_size"], cfg["strides"], cfg["padding"])
        elif layer.kind == "Flatten":
            y = y.reshape(len(y), -1)
        else:
            assert layer.kind == "Dropout", layer.kind
    return y
