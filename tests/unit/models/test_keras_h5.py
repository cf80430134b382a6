"""Keras HDF5 -> ONNX (convert/keras_h5) on a small Sequential CNN written here with h5py, against NumPy."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import onnxruntime as ort
import pytest
from tests.keras_reference import forward

from medialens.models.convert import keras_h5

H, W = 11, 9


def _layer(kind: str, name: str, **config) -> dict:
    return {"class_name": kind, "config": {"name": name, **config}}


def _bn(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    return {
        "gamma": rng.uniform(0.5, 1.5, n),
        "beta": rng.normal(0, 0.2, n),
        "moving_mean": rng.normal(0, 0.3, n),
        "moving_variance": rng.uniform(0.5, 2.0, n),
    }


def _write_model(path: Path, *, extra: dict | None = None) -> None:
    """Reshape, Conv2D+BN+ReLU, 'same' MaxPool, Conv2D (relu), Flatten over 4 x 3 x 5 (so the channel order
    matters; the pool pads an odd size), Dense+BN+ReLU, Dropout, Dense softmax: the layer kinds of
    inaSpeechSegmenter's CNNs."""
    rng = np.random.default_rng(7)
    layers = [
        _layer("Reshape", "reshape", target_shape=[H, W, 1], batch_input_shape=[None, H, W]),
        _layer("Conv2D", "conv2d_1", filters=4, kernel_size=[3, 3], strides=[1, 1], padding="valid",
               activation="linear"),
        _layer("BatchNormalization", "bn_1", epsilon=0.001),
        _layer("Activation", "act_1", activation="relu"),
        _layer("MaxPooling2D", "pool_1", pool_size=[2, 2], strides=[2, 2], padding="same"),
        _layer("Conv2D", "conv2d_2", filters=5, kernel_size=[2, 2], strides=[1, 1], padding="valid",
               activation="relu"),
        _layer("Flatten", "flatten"),
        _layer("Dense", "dense_1", units=6, activation="linear"),
        _layer("BatchNormalization", "bn_2", epsilon=0.001),
        _layer("Activation", "act_2", activation="relu"),
        _layer("Dropout", "dropout", rate=0.5),
        _layer("Dense", "dense_2", units=3, activation="softmax"),
    ]
    if extra:
        layers.insert(-1, extra)
    weights = {
        "conv2d_1": {"kernel": rng.normal(0, 0.5, (3, 3, 1, 4)), "bias": rng.normal(0, 0.1, 4)},
        "bn_1": _bn(rng, 4),
        "conv2d_2": {"kernel": rng.normal(0, 0.5, (2, 2, 4, 5)), "bias": rng.normal(0, 0.1, 5)},
        "dense_1": {"kernel": rng.normal(0, 0.5, (60, 6)), "bias": rng.normal(0, 0.1, 6)},
        "bn_2": _bn(rng, 6),
        "dense_2": {"kernel": rng.normal(0, 0.5, (6, 3)), "bias": rng.normal(0, 0.1, 3)},
    }
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps({"class_name": "Sequential", "config": {"layers": layers}})
        group = f.create_group("model_weights")
        for name, arrays in weights.items():
            inner = group.create_group(name).create_group(name)
            for key, value in arrays.items():
                inner.create_dataset(f"{key}:0", data=value.astype(np.float32))


def test_the_onnx_graph_computes_what_the_keras_layers_do(tmp_path: Path) -> None:
    src, dst = tmp_path / "m.hdf5", tmp_path / "m.onnx"
    _write_model(src)
    keras_h5.convert_file(src, dst)
    x = np.random.default_rng(1).normal(size=(7, H, W)).astype(np.float32)
    got = ort.InferenceSession(str(dst)).run(None, {"input": x})[0]
    want = forward(keras_h5.read_sequential(src), x)
    assert got.shape == (7, 3)
    np.testing.assert_allclose(got, want, atol=2e-6)
    assert np.ptp(want, axis=0).max() > 0.05  # the inputs lead to different answers: the check is not vacuous


def test_the_reading_keeps_layer_order_and_weights(tmp_path: Path) -> None:
    _write_model(tmp_path / "m.hdf5")
    layers = keras_h5.read_sequential(tmp_path / "m.hdf5")
    assert [layer.kind for layer in layers][:3] == ["Reshape", "Conv2D", "BatchNormalization"]
    assert layers[1].weights["kernel"].shape == (3, 3, 1, 4) and set(layers[2].weights) == {
        "gamma",
        "beta",
        "moving_mean",
        "moving_variance",
    }


def test_an_unsupported_layer_is_refused_by_name(tmp_path: Path) -> None:
    _write_model(tmp_path / "m.hdf5", extra=_layer("LSTM", "lstm", units=4))
    with pytest.raises(ValueError, match="unsupported Keras layer LSTM"):
        keras_h5.convert_file(tmp_path / "m.hdf5", tmp_path / "m.onnx")
