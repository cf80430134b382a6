"""The fingerprint's int8 network (models/convert/fingerprint_int8.py) on a tiny MobileNetV2 with the real graph's
structure: calibrated ranges -> a QDQ int8 model whose feature map stays close to the float one; ranges that do not
name the graph's tensors are refused with the reason."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from tests.unit.models.test_convert import tiny_mobilenet

from medialens.models.convert import MOBILENET_V2_FINGERPRINT_INT8, MOBILENET_V2_ONNX, mobilenet
from medialens.models.convert import fingerprint_int8 as int8


@pytest.fixture(scope="module")
def stage(tmp_path_factory) -> Path:
    """A pull's staging folder after the float conversion, and ranges calibrated on it."""
    stage = tmp_path_factory.mktemp("stage")
    mobilenet.save_model(mobilenet.build_model(tiny_mobilenet()), stage / MOBILENET_V2_ONNX)
    work = tmp_path_factory.mktemp("work")
    rng = np.random.default_rng(0)
    batches = [rng.standard_normal((4, 3, int8.SIDE, int8.SIDE)).astype(np.float32) for _ in range(3)]
    int8.calibrate(int8.prepared(stage / MOBILENET_V2_ONNX, work), batches, stage / "ranges.json", work)
    return stage


def _feature_map(path: Path, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run([int8.FEATURE_MAP], {"input": x})[0]


def test_the_int8_network_keeps_the_float_feature_map(stage: Path, tmp_path: Path) -> None:
    int8.convert(stage, stage / "ranges.json")
    quantized = stage / MOBILENET_V2_FINGERPRINT_INT8
    ops = {n.op_type for n in onnx.load(str(quantized)).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops and "Gemm" not in ops  # int8, cut before the head
    onnx.save(int8.feature_map_model(stage / MOBILENET_V2_ONNX), str(tmp_path / "float.onnx"))
    x = np.random.default_rng(1).standard_normal((2, 3, int8.SIDE, int8.SIDE)).astype(np.float32)
    exact, approx = _feature_map(tmp_path / "float.onnx", x), _feature_map(quantized, x)
    assert approx.shape == exact.shape == (2, 6, 7, 7)
    cos = np.sum(exact * approx) / (np.linalg.norm(exact) * np.linalg.norm(approx))
    assert cos > 0.95, cos
    assert not (stage / (MOBILENET_V2_FINGERPRINT_INT8 + ".tmp")).exists()


def test_ranges_for_another_graph_are_refused(stage: Path, tmp_path: Path) -> None:
    ranges = json.loads((stage / "ranges.json").read_text())
    ranges["data"] = {k: v for k, v in list(ranges["data"].items())[1:]}
    (tmp_path / "partial.json").write_text(json.dumps(ranges))
    with pytest.raises(ValueError, match="no range for 1 tensors"):
        prepared = int8.prepared(stage / MOBILENET_V2_ONNX, tmp_path)
        int8.quantize(prepared, tmp_path / "partial.json", tmp_path / "q.onnx", tmp_path)
    assert not (tmp_path / "q.onnx").exists()


def test_the_shipped_ranges_name_the_real_graphs_tensors() -> None:
    """The ranges in the package were calibrated on the converted MobileNetV2 (``bench/fit_fingerprint_pca.py``)."""
    data = json.loads(int8.shipped_ranges().read_text())["data"]
    assert int8.FEATURE_MAP in data and len(data) > 90
    low, high = (data[int8.FEATURE_MAP][k] for k in ("lowest", "highest"))
    low, high = (float(v["data"] if isinstance(v, dict) else v) for v in (low, high))
    assert 0 <= low < high <= 6  # a ReLU6 output
