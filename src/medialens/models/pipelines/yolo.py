"""YOLOv8 COCO detection and instance segmentation from Ultralytics' ONNX exports.

Input ``images`` float32 [1, 3, 640, 640], RGB 0-1, letterboxed (aspect kept, grey 114 padding, centred).
Detection output ``output0`` [1, 4 + nc, N]: per anchor cx, cy, w, h (input pixels) and nc class scores (already
sigmoid; no objectness). Segmentation adds 32 mask coefficients per anchor ([1, 4 + nc + 32, N]) and ``output1``
prototypes [1, 32, 160, 160]; a mask is sigmoid(coefficients @ prototypes), cropped to its box, scaled back.

Boxes are decoded, filtered by confidence, reduced by class-wise NMS and mapped back to the original image by
inverting the letterbox. Class names come from the export's ``names`` metadata, else COCO-80.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from medialens.config import Settings
from medialens.models.imaging import COCO80, Letterbox
from medialens.models.imaging import letterbox as fit_square
from medialens.models.pipeline import Pipeline
from medialens.models.pipelines import register_pipeline
from medialens.models.pipelines.clip import ImageLike, to_pil_rgb
from medialens.models.runtime import onnx_session


@dataclass
class Detection:
    label: str
    class_id: int
    score: float
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 in original pixels
    mask: np.ndarray | None = field(default=None, repr=False)  # bool [H, W] (segmentation only)

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "class_id": self.class_id, "score": self.score, "box": list(self.box)}


def letterbox(image: ImageLike, size: int, fill: int = 114) -> tuple[np.ndarray, Letterbox]:
    """float32 [3, size, size] RGB 0-1 and the transform that produced it."""
    canvas, geo = fit_square(np.asarray(to_pil_rgb(image)), size, fill)
    return np.ascontiguousarray(canvas.transpose(2, 0, 1), dtype=np.float32) / 255.0, geo


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> np.ndarray:
    """Indices kept by greedy non-maximum suppression (boxes xyxy), best first."""
    order = np.argsort(-scores)
    areas = (boxes[:, 2] - boxes[:, 0]).clip(0) * (boxes[:, 3] - boxes[:, 1]).clip(0)
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        xx1 = np.maximum(boxes[i, 0], boxes[rest, 0])
        yy1 = np.maximum(boxes[i, 1], boxes[rest, 1])
        xx2 = np.minimum(boxes[i, 2], boxes[rest, 2])
        yy2 = np.minimum(boxes[i, 3], boxes[rest, 3])
        inter = (xx2 - xx1).clip(0) * (yy2 - yy1).clip(0)
        ious = inter / np.maximum(areas[i] + areas[rest] - inter, 1e-9)
        order = rest[ious <= iou]
    return np.array(keep, dtype=np.int64)


def _cxcywh_to_xyxy(b: np.ndarray) -> np.ndarray:
    out = np.empty_like(b)
    out[:, 0] = b[:, 0] - b[:, 2] / 2
    out[:, 1] = b[:, 1] - b[:, 3] / 2
    out[:, 2] = b[:, 0] + b[:, 2] / 2
    out[:, 3] = b[:, 1] + b[:, 3] / 2
    return out


class YoloBase(Pipeline[ImageLike, tuple[np.ndarray, Letterbox], list[Detection]]):
    onnx_file: ClassVar[str]
    segment: ClassVar[bool] = False
    conf_threshold: float = 0.25
    iou_threshold: float = 0.45
    max_detections: int = 300
    mask_threshold: float = 0.5

    def __init__(self, model_dir: Path, settings: Settings) -> None:
        super().__init__(model_dir, settings)
        self.session = onnx_session(model_dir / self.onnx_file, settings)
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        side = inp.shape[2] if len(inp.shape) == 4 else None
        self.size = side if isinstance(side, int) and side > 0 else 640
        first = inp.shape[0] if inp.shape else None
        self.fixed_batch = first if isinstance(first, int) and first > 0 else None
        self.names = self._names()

    def _names(self) -> tuple[str, ...]:
        meta = self.session.get_modelmeta().custom_metadata_map or {}
        try:
            names = ast.literal_eval(meta["names"])
            return tuple(names[i] for i in sorted(names))
        except (KeyError, ValueError, SyntaxError, TypeError):
            return COCO80

    def preprocess(self, item: ImageLike) -> tuple[np.ndarray, Letterbox]:
        return letterbox(item, self.size)

    def forward(self, batch: Sequence[tuple[np.ndarray, Letterbox]]) -> Sequence[tuple[np.ndarray, ...]]:
        x = np.stack([b[0] for b in batch])
        if self.fixed_batch == 1 and len(batch) > 1:
            return [self.forward([b])[0] for b in batch]
        outs = self.session.run(None, {self.input_name: x})
        return [tuple(o[i] for o in outs) for i in range(len(batch))]

    def postprocess(
        self, raw: tuple[np.ndarray, ...], item: ImageLike, pre: tuple[np.ndarray, Letterbox]
    ) -> list[Detection]:
        box = pre[1]
        preds = np.asarray(raw[0], dtype=np.float32)  # [4 + nc (+ 32), N]
        protos = np.asarray(raw[1], dtype=np.float32) if self.segment and len(raw) > 1 else None
        nm = protos.shape[0] if protos is not None else 0
        nc = preds.shape[0] - 4 - nm
        preds = preds.T
        scores = preds[:, 4 : 4 + nc]
        cls = scores.argmax(axis=1)
        conf = scores[np.arange(len(cls)), cls]
        sel = conf > self.conf_threshold
        if not sel.any():
            return []
        preds, cls, conf = preds[sel], cls[sel], conf[sel]
        boxes = _cxcywh_to_xyxy(preds[:, :4])
        offset = cls[:, None].astype(np.float32) * (self.size * 4)  # class-wise NMS in one pass
        keep = nms(boxes + offset, conf, self.iou_threshold)[: self.max_detections]
        boxes, cls, conf = boxes[keep], cls[keep], conf[keep]
        masks = self._masks(preds[keep, 4 + nc :], protos, boxes, box) if protos is not None else None
        orig = box.to_original(boxes)
        out = []
        for k in range(len(keep)):
            c = int(cls[k])
            label = self.names[c] if c < len(self.names) else str(c)
            out.append(
                Detection(
                    label, c, float(conf[k]), tuple(float(v) for v in orig[k]), None if masks is None else masks[k]
                )
            )
        return out

    def _masks(self, coeffs: np.ndarray, protos: np.ndarray, boxes: np.ndarray, box: Letterbox) -> np.ndarray:
        import cv2

        nm, ph, pw = protos.shape
        m = coeffs @ protos.reshape(nm, -1)
        m = (1.0 / (1.0 + np.exp(-m))).reshape(-1, ph, pw)
        sx, sy = pw / box.size, ph / box.size
        ys, xs = np.arange(ph)[:, None] + 0.5, np.arange(pw)[None, :] + 0.5
        top, left = round(box.pad_y), round(box.pad_x)
        nh, nw = round(box.height * box.scale), round(box.width * box.scale)
        out = np.zeros((len(m), box.height, box.width), dtype=bool)
        for k, (x1, y1, x2, y2) in enumerate(boxes):
            inside = (xs >= x1 * sx) & (xs < x2 * sx) & (ys >= y1 * sy) & (ys < y2 * sy)
            full = cv2.resize(m[k] * inside, (box.size, box.size), interpolation=cv2.INTER_LINEAR)
            crop = full[top : top + nh, left : left + nw]
            crop = cv2.resize(crop, (box.width, box.height), interpolation=cv2.INTER_LINEAR)
            out[k] = crop > self.mask_threshold
        return out

    def close(self) -> None:
        self.session = None  # type: ignore[assignment]


@register_pipeline
class YoloV8nDetect(YoloBase):
    model_name = "yolov8n"
    onnx_file = "yolov8n.onnx"


@register_pipeline
class YoloV8nSegment(YoloBase):
    model_name = "yolov8n-seg"
    onnx_file = "yolov8n-seg.onnx"
    segment = True
