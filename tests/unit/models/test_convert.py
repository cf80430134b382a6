"""Pull-time conversions without torch or TensorFlow, and NanoDet decoding on synthetic outputs."""

from __future__ import annotations

import base64
import collections
import io
import json
import pickle
import struct
import sys
import types
import zipfile
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from medialens.models.convert import mobilenet, tfjs
from medialens.models.convert.torch_pickle import LEGACY_MAGIC, CheckpointError, load_state_dict
from medialens.models.pipelines.detection import COCO80, Letterbox, decode_level, decode_nanodet, nms_per_class

# -- a fake torch (only for writing checkpoints in the test; the reader never imports anything) --------------


class _Marker:
    def __init__(self, key: str, arr: np.ndarray) -> None:
        self.key, self.arr = key, arr


@pytest.fixture()
def fake_torch(monkeypatch: pytest.MonkeyPatch) -> types.SimpleNamespace:
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")

    class FloatStorage:
        pass

    class LongStorage:
        pass

    def _rebuild_tensor_v2(*args):  # pragma: no cover - never called
        raise AssertionError

    FloatStorage.__module__ = LongStorage.__module__ = "torch"
    FloatStorage.__qualname__, LongStorage.__qualname__ = "FloatStorage", "LongStorage"
    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    torch.FloatStorage, torch.LongStorage, utils._rebuild_tensor_v2 = FloatStorage, LongStorage, _rebuild_tensor_v2
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "torch._utils", utils)
    return types.SimpleNamespace(FloatStorage=FloatStorage, LongStorage=LongStorage, rebuild=_rebuild_tensor_v2)


def _dump_state(fake: types.SimpleNamespace, state: dict[str, np.ndarray]) -> tuple[bytes, list[_Marker]]:
    markers: list[_Marker] = []

    class Tensor:
        def __init__(self, arr: np.ndarray) -> None:
            self.marker = _Marker(str(len(markers)), arr)
            markers.append(self.marker)

        def __reduce__(self):
            arr = self.marker.arr
            stride = tuple(s // arr.itemsize for s in arr.strides)
            return fake.rebuild, (self.marker, 0, arr.shape, stride, False, collections.OrderedDict())

    class P(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, _Marker):
                kind = fake.FloatStorage if obj.arr.dtype == np.float32 else fake.LongStorage
                return ("storage", kind, obj.key, "cpu", obj.arr.size)
            return None

    buf = io.BytesIO()
    P(buf, protocol=2).dump(collections.OrderedDict((k, Tensor(v)) for k, v in state.items()))
    return buf.getvalue(), markers


def _state() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "a.weight": rng.standard_normal((4, 3, 3, 3)).astype(np.float32),
        "a.bias": rng.standard_normal(4).astype(np.float32),
        "bn.num_batches_tracked": np.array(7, np.int64),
    }


def test_reads_zip_checkpoint(tmp_path: Path, fake_torch) -> None:
    state = _state()
    pkl, markers = _dump_state(fake_torch, state)
    path = tmp_path / "m.pth"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/data.pkl", pkl)
        for m in markers:
            zf.writestr(f"archive/data/{m.key}", m.arr.tobytes())
    del sys.modules["torch"], sys.modules["torch._utils"]  # the reader must not need them
    got = load_state_dict(path)
    assert set(got) == set(state)
    for k, v in state.items():
        np.testing.assert_array_equal(got[k], v)
        assert got[k].dtype == v.dtype


def test_reads_legacy_checkpoint(tmp_path: Path, fake_torch) -> None:
    state = _state()
    pkl, markers = _dump_state(fake_torch, state)
    out = io.BytesIO()
    for header in (LEGACY_MAGIC, 1001, {"protocol_version": 1001, "little_endian": True}):
        pickle.dump(header, out, protocol=2)
    out.write(pkl)
    pickle.dump([m.key for m in markers], out, protocol=2)
    for m in markers:
        out.write(struct.pack("<q", m.arr.size) + m.arr.tobytes())
    path = tmp_path / "legacy.pth"
    path.write_bytes(out.getvalue())
    got = load_state_dict(path)
    np.testing.assert_array_equal(got["a.weight"], state["a.weight"])
    assert int(got["bn.num_batches_tracked"]) == 7


def test_refuses_other_globals(tmp_path: Path) -> None:
    class Evil:
        def __reduce__(self):
            import os

            return os.system, ("echo pwned",)

    path = tmp_path / "evil.pth"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/data.pkl", pickle.dumps({"x": Evil()}, protocol=2))
    with pytest.raises(CheckpointError, match="refusing"):
        load_state_dict(path)


# -- MobileNetV2 graph --------------------------------------------------------------------------------------


def _conv_bn(sd: dict, conv: str, bn: str, cin: int, cout: int, k: int, groups: int, rng) -> None:
    sd[f"{conv}.weight"] = rng.standard_normal((cout, cin // groups, k, k)).astype(np.float32) * 0.3
    sd[f"{bn}.weight"] = rng.uniform(0.5, 1.5, cout).astype(np.float32)
    sd[f"{bn}.bias"] = rng.standard_normal(cout).astype(np.float32) * 0.1
    sd[f"{bn}.running_mean"] = rng.standard_normal(cout).astype(np.float32) * 0.1
    sd[f"{bn}.running_var"] = rng.uniform(0.5, 1.5, cout).astype(np.float32)


def tiny_mobilenet(width: int = 4, classes: int = 5, feats: int = 6) -> dict[str, np.ndarray]:
    """A state dict with torchvision MobileNetV2's keys and structure but a handful of channels."""
    rng = np.random.default_rng(1)
    sd: dict[str, np.ndarray] = {}
    _conv_bn(sd, "features.0.0", "features.0.1", 3, width, 3, 1, rng)
    cin = width
    for i, t in enumerate([1] + [2] * 16, start=1):
        p, hidden, cout = f"features.{i}.conv", cin * t, width
        if t == 1:
            _conv_bn(sd, f"{p}.0.0", f"{p}.0.1", cin, cin, 3, cin, rng)
            _conv_bn(sd, f"{p}.1", f"{p}.2", cin, cout, 1, 1, rng)
        else:
            _conv_bn(sd, f"{p}.0.0", f"{p}.0.1", cin, hidden, 1, 1, rng)
            _conv_bn(sd, f"{p}.1.0", f"{p}.1.1", hidden, hidden, 3, hidden, rng)
            _conv_bn(sd, f"{p}.2", f"{p}.3", hidden, cout, 1, 1, rng)
        cin = cout
    _conv_bn(sd, "features.18.0", "features.18.1", cin, feats, 1, 1, rng)
    sd["classifier.1.weight"] = rng.standard_normal((classes, feats)).astype(np.float32)
    sd["classifier.1.bias"] = rng.standard_normal(classes).astype(np.float32)
    return sd


def test_fold_bn_matches_conv_then_bn() -> None:
    rng = np.random.default_rng(2)
    w = rng.standard_normal((3, 2, 1, 1)).astype(np.float32)
    g, b, m, v = (rng.uniform(0.5, 1.5, 3).astype(np.float32) for _ in range(4))
    x = rng.standard_normal((2, 5)).astype(np.float32)
    conv = w[:, :, 0, 0] @ x
    ref = (conv - m[:, None]) / np.sqrt(v[:, None] + 1e-5) * g[:, None] + b[:, None]
    wf, bf = mobilenet.fold_bn(w, g, b, m, v)
    np.testing.assert_allclose(wf[:, :, 0, 0] @ x + bf[:, None], ref, rtol=1e-5, atol=1e-5)


def test_mobilenet_graph_builds_and_runs_batched(tmp_path: Path) -> None:
    model = mobilenet.build_model(tiny_mobilenet())
    path = tmp_path / "m.onnx"
    path.write_bytes(model.SerializeToString())
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [o.name for o in sess.get_outputs()] == ["logits", "features"]
    ops = {n.op_type for n in model.graph.node}
    assert {"Conv", "Clip", "Add", "GlobalAveragePool", "Flatten", "Gemm"} <= ops
    x = np.random.default_rng(3).standard_normal((3, 3, 224, 224)).astype(np.float32)
    logits, feats = sess.run(None, {"input": x})
    assert logits.shape == (3, 5) and feats.shape == (3, 6)
    single, _ = sess.run(None, {"input": x[1:2]})
    np.testing.assert_allclose(single[0], logits[1], rtol=1e-4, atol=1e-4)
    assert np.all(feats >= 0) and np.all(feats <= 6)  # pooled ReLU6 activations


# -- TF.js graph -> ONNX ------------------------------------------------------------------------------------


def _attr_s(v: str) -> dict:
    return {"s": base64.b64encode(v.encode()).decode()}


def test_tfjs_conv_graph_matches_numpy(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    w = rng.standard_normal((3, 3, 2, 3)).astype(np.float16).astype(np.float32)  # HWIO, float16-quantized
    bias = rng.standard_normal(3).astype(np.float32)
    nhwc = {"data_format": _attr_s("NHWC"), "strides": {"list": {"i": ["1", "1", "1", "1"]}}}
    nodes = [
        {
            "name": "x",
            "op": "Placeholder",
            "attr": {
                "shape": {"shape": {"dim": [{"size": "1"}, {"size": "5"}, {"size": "5"}, {"size": "2"}]}},
                "dtype": {"type": "DT_FLOAT"},
            },
        },
        {"name": "w", "op": "Const", "attr": {"dtype": {"type": "DT_FLOAT"}}},
        {"name": "b", "op": "Const", "attr": {"dtype": {"type": "DT_FLOAT"}}},
        {"name": "shape_base", "op": "Const", "attr": {"dtype": {"type": "DT_INT32"}}},
        {"name": "shape_add", "op": "Const", "attr": {"dtype": {"type": "DT_INT32"}}},
        {"name": "shape", "op": "AddV2", "input": ["shape_base", "shape_add"]},  # folded at conversion
        {"name": "conv", "op": "Conv2D", "input": ["x", "w"], "attr": {**nhwc, "padding": _attr_s("SAME")}},
        {"name": "add", "op": "Add", "input": ["conv", "b"]},
        {"name": "act", "op": "LeakyRelu", "input": ["add"], "attr": {"alpha": {"f": 0.1}}},
        {"name": "out", "op": "Reshape", "input": ["act", "shape"]},
    ]
    weights = [
        ("w", w, {"dtype": "float16"}),
        ("b", bias, None),
        ("shape_base", np.array([1, 20, 3], np.int32), None),
        ("shape_add", np.array([0, 5, 0], np.int32), None),
    ]
    manifest, blob = [], b""
    for name, arr, q in weights:
        entry = {"name": name, "shape": list(arr.shape), "dtype": "int32" if arr.dtype == np.int32 else "float32"}
        if q:
            entry["quantization"] = q
            blob += arr.astype(np.float16).tobytes()
        else:
            blob += arr.tobytes()
        manifest.append(entry)
    model_json = {
        "modelTopology": {"node": nodes},
        "weightsManifest": [{"paths": ["m.bin"], "weights": manifest}],
        "signature": {"outputs": {"out:0": {"tensorShape": {"dim": [{"size": "1"}, {"size": "25"}, {"size": "3"}]}}}},
    }
    (tmp_path / "m.json").write_text(json.dumps(model_json))
    (tmp_path / "m.bin").write_bytes(blob)
    tfjs.convert_file(tmp_path / "m.json", tmp_path / "m.onnx")
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    x = rng.standard_normal((1, 5, 5, 2)).astype(np.float32)
    (got,) = sess.run(None, {"x": x})
    padded = np.pad(x[0], ((1, 1), (1, 1), (0, 0)))
    ref = np.zeros((5, 5, 3), np.float32)
    for i in range(5):
        for j in range(5):
            ref[i, j] = np.einsum("hwc,hwco->o", padded[i : i + 3, j : j + 3], w)
    ref = ref + bias
    ref = np.where(ref > 0, ref, 0.1 * ref).reshape(1, 25, 3)
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4)


def test_tfjs_unknown_op_is_named(tmp_path: Path) -> None:
    model_json = {
        "modelTopology": {
            "node": [{"name": "x", "op": "Placeholder", "attr": {}}, {"name": "y", "op": "Erf", "input": ["x"]}]
        },
        "weightsManifest": [],
        "signature": {"outputs": {"y:0": {}}},
    }
    (tmp_path / "m.json").write_text(json.dumps(model_json))
    with pytest.raises(tfjs.UnsupportedOpError, match="Erf"):
        tfjs.convert_model(tmp_path / "m.json")


# -- NanoDet decoding ---------------------------------------------------------------------------------------


def _outputs(size: int = 416, bins: int = 11) -> dict[str, np.ndarray]:
    out = {}
    for k, stride in enumerate((8, 16, 32)):
        cells = (size // stride) ** 2
        out[f"cls{k}"] = np.full((cells, 80), 0.01, np.float32)
        out[f"reg{k}"] = np.full((cells, 4 * bins), -10.0, np.float32)
    return out


def test_decode_level_distances_times_stride() -> None:
    grid, bins = 26, 11
    scores = np.zeros((grid * grid, 80), np.float32)
    dists = np.full((grid * grid, 4 * bins), -20.0, np.float32)
    cell = 5 * grid + 7  # row 5, col 7
    scores[cell, COCO80.index("cat")] = 0.9
    for side, b in enumerate((1, 2, 3, 4)):  # l, t, r, b as one-hot bins
        dists[cell, side * bins + b] = 20.0
    boxes, s, c = decode_level(scores, dists, 16, 416, 0.3)
    cx, cy = 7.5 * 16, 5.5 * 16
    np.testing.assert_allclose(boxes[0], [cx - 16, cy - 32, cx + 48, cy + 64], atol=1e-3)
    assert c.tolist() == [COCO80.index("cat")] and s[0] == pytest.approx(0.9)


def test_decode_nanodet_nms_and_letterbox_mapping() -> None:
    out = _outputs()
    bins, grid = 11, 52
    cells = [10 * grid + 10, 10 * grid + 11]  # two neighbours, same class: NMS keeps the better one
    for cell, score in zip(cells, (0.8, 0.7), strict=True):
        out["cls0"][cell, 0] = score
        out["reg0"][cell].reshape(4, bins)[:, 4] = 20.0
    out["cls0"][cells[1], 2] = 0.75  # a car at the second cell survives (class-wise NMS)
    geo = Letterbox(scale=0.5, pad_x=8.0, pad_y=0.0, width=800, height=832, size=416)
    dets = decode_nanodet(out, geo, threshold=0.3, iou=0.5)
    assert [d.label for d in dets] == ["person", "car"]
    x1, y1, x2, y2 = dets[0].box
    cx, cy = 10.5 * 8, 10.5 * 8  # model pixels
    assert (x1, y1) == pytest.approx(((cx - 32 - 8) / 0.5, (cy - 32) / 0.5), abs=1e-3)
    assert (x2, y2) == pytest.approx(((cx + 32 - 8) / 0.5, (cy + 32) / 0.5), abs=1e-3)
    assert decode_nanodet(_outputs(), geo) == []


def test_nms_per_class_keeps_disjoint_boxes() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 10, 10], [50, 50, 60, 60]], np.float32)
    keep = nms_per_class(boxes, np.array([0.9, 0.8, 0.7], np.float32), np.array([0, 0, 0]), 0.5, 0.3, 10)
    assert keep.tolist() == [0, 2]
