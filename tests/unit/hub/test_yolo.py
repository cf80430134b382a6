"""YOLOv8 detection and segmentation: planted predictions decoded, NMS'd and mapped back through the letterbox."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from onnx import TensorProto, helper

from medialens.models.errors import ChecksumError
from medialens.models.installed import installed, pull
from medialens.models.pipelines import pipeline_class
from medialens.models.pipelines.yolo import COCO80, Letterbox, letterbox, nms
from medialens.models.registry import get_spec
from tests.unit.hub.conftest import init, media_image, model_bytes, serve, unpinned

N = 8
CAT = (100.0, 50.0, 300.0, 250.0)  # in the 451 x 300 original
PERSON = (50.0, 20.0, 120.0, 80.0)
SCALE, TOP = 640 / 451, 107  # letterbox of 451 x 300 into 640: 640 x 426, 107 px of padding above


def _to_input(box: tuple[float, ...], shift: float = 0.0) -> list[float]:
    x1, y1, x2, y2 = (box[0] * SCALE + shift, box[1] * SCALE + TOP, box[2] * SCALE + shift, box[3] * SCALE + TOP)
    return [(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1]


def planted(nc: int = 80, nm: int = 0) -> np.ndarray:
    out = np.zeros((1, 4 + nc + nm, N), np.float32)
    out[0, :4, :] = np.array(_to_input(PERSON))[:, None]
    out[0, 4:, :] = 0.01
    rows = [  # anchor, box, class, score
        (0, _to_input(CAT), 15, 0.9),
        (1, _to_input(CAT, shift=5.0), 15, 0.8),  # duplicate: suppressed by NMS
        (2, _to_input(CAT), 16, 0.7),  # same place, other class: kept (class-wise NMS)
        (3, _to_input(PERSON), 0, 0.3),
    ]
    for anchor, box, cls, score in rows:
        out[0, :4, anchor] = box
        out[0, 4 + cls, anchor] = score
    if nm:
        out[0, 4 + nc :, :] = 0.0
        out[0, 4 + nc + 0, 0] = 1.0  # the cat's mask: prototype 0
        out[0, 4 + nc + 1, 2] = 1.0  # the dog's mask: prototype 1
    return out


def constant_graph(outputs: dict[str, np.ndarray], metadata: dict[str, str] | None = None) -> bytes:
    """images [1,3,640,640] -> constants (+ 0 * sum(images), so the input is used)."""
    nodes = [
        helper.make_node("ReduceSum", ["images"], ["s"], keepdims=0),
        helper.make_node("Mul", ["s", "zero"], ["z"]),
    ]
    inits = [init("zero", np.array(0.0, np.float32))]
    outs = []
    for name, value in outputs.items():
        inits.append(init(f"{name}_c", value))
        nodes.append(helper.make_node("Add", [f"{name}_c", "z"], [name]))
        outs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, list(value.shape)))
    ins = [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 640, 640])]
    return model_bytes(nodes, ins, outs, inits, metadata)


def _close(box, ref, tol=1.0) -> bool:
    return all(abs(a - b) <= tol for a, b in zip(box, ref, strict=True))


def test_letterbox_and_nms_helpers() -> None:
    x, lb = letterbox(media_image(), 640)
    assert x.shape == (3, 640, 640) and x.dtype == np.float32 and x.min() >= 0.0 and x.max() <= 1.0
    assert lb == Letterbox(pytest.approx(SCALE), 0.0, float(TOP), 451, 300, 640)
    assert np.allclose(x[:, 50, 320], 114 / 255) and np.allclose(x[:, 600, 320], 114 / 255)  # grey bands
    boxes = np.array([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30]], np.float32)
    assert nms(boxes, np.array([0.5, 0.9, 0.4]), 0.45).tolist() == [1, 2]


def test_yolov8n_detects_planted_boxes(mirror, settings) -> None:
    spec = get_spec("yolov8n")
    serve(mirror, spec, {"yolov8n.onnx": constant_graph({"output0": planted()})})
    assert not installed("yolov8n", settings)
    pipe = pipeline_class("yolov8n")(pull("yolov8n", settings=settings), settings)
    assert pipe.names == COCO80 and pipe.size == 640

    dets = pipe(media_image())
    assert [(d.label, round(d.score, 3)) for d in dets] == [("cat", 0.9), ("dog", 0.7), ("person", 0.3)]
    assert _close(dets[0].box, CAT) and _close(dets[1].box, CAT) and _close(dets[2].box, PERSON)
    assert dets[0].mask is None and dets[0].to_dict()["box"] == list(dets[0].box)
    pipe.conf_threshold = 0.5
    assert [d.label for d in pipe(media_image())] == ["cat", "dog"]


def test_yolov8n_uses_names_from_export_metadata(mirror, settings) -> None:
    names = {i: f"thing{i}" for i in range(80)}
    spec = get_spec("yolov8n")
    serve(mirror, spec, {"yolov8n.onnx": constant_graph({"output0": planted()}, {"names": repr(names)})})
    pipe = pipeline_class("yolov8n")(pull("yolov8n", settings=settings), settings)
    assert pipe(media_image())[0].label == "thing15"


def test_yolov8n_seg_masks(mirror, settings, monkeypatch: pytest.MonkeyPatch) -> None:
    protos = np.zeros((1, 32, 160, 160), np.float32)
    protos[0, 0] = 20.0  # prototype 0 is "on" everywhere: the mask is its box
    protos[0, 1] = -20.0  # prototype 1 is "off" everywhere
    files = {"yolov8n-seg.onnx": constant_graph({"output0": planted(nm=32), "output1": protos})}
    real = get_spec("yolov8n-seg")
    serve(mirror, real, files)
    with pytest.raises(ChecksumError):  # the real spec pins the real file's sha256: a tiny model is refused
        pull("yolov8n-seg", settings=settings)
    assert not installed("yolov8n-seg", settings)

    spec = unpinned(real, monkeypatch)
    assert dataclasses.replace(spec, sources=real.sources) == real
    pipe = pipeline_class("yolov8n-seg")(pull("yolov8n-seg", settings=settings), settings)
    dets = pipe(media_image())
    assert [d.label for d in dets] == ["cat", "dog", "person"]
    cat, dog, person = dets
    assert _close(cat.box, CAT)
    assert cat.mask.shape == (300, 451) and cat.mask.dtype == bool
    assert cat.mask[150, 200] and not cat.mask[20, 20] and not cat.mask[150, 350] and not cat.mask[280, 200]
    assert cat.mask.sum() == pytest.approx(200 * 200, rel=0.06)
    assert dog.mask.sum() == 0
    assert person.mask.shape == (300, 451)
