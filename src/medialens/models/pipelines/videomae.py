"""VideoMAE fine-tuned on UCF101 (the checkpoint converted to ONNX at pull time, ``convert/videomae.py``), the hub
model of Model Hub ``video_classification``.

One input is ``FRAMES`` RGB frames spread evenly over the clip. Each is resized so its short side is ``SIZE``
(bilinear), centre-cropped to ``SIZE`` x ``SIZE``, scaled to 0-1 and normalised with the ImageNet mean and
standard deviation (VideoMAE's image processor): ``pixel_values`` [1, 16, 3, 224, 224]. The answer is ``logits``
[1, 101]; the class names are the checkpoint's own ``id2label`` (``config.json``), so the label order is the
model's, whatever it is.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from medialens.config import Settings
from medialens.models.pipeline import Pipeline
from medialens.models.pipelines import register_pipeline
from medialens.models.runtime import onnx_session

FRAMES = 16
SIZE = 224
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


@dataclass(frozen=True)
class VideoClasses:
    names: list[str]
    probs: np.ndarray
    """Softmax over the model's classes, in ``names`` order."""


def _square(rgb: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    scale = SIZE / min(h, w)
    nh, nw = max(SIZE, round(h * scale)), max(SIZE, round(w * scale))
    small = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_LINEAR)
    y, x = (nh - SIZE) // 2, (nw - SIZE) // 2
    return small[y : y + SIZE, x : x + SIZE]


def evenly(frames: Sequence[np.ndarray], n: int = FRAMES) -> list[np.ndarray]:
    """``n`` frames spread evenly over ``frames`` (repeating when there are fewer)."""
    if not frames:
        raise ValueError("no frames to classify")
    return [frames[int(i)] for i in np.linspace(0, len(frames) - 1, n).round()]


@register_pipeline
class VideoMAEUCF101(Pipeline[Sequence[np.ndarray], np.ndarray, VideoClasses]):
    model_name = "videomae-base-ucf101"
    onnx_file = "model.onnx"
    max_batch_size = 1

    def __init__(self, model_dir: Path, settings: Settings) -> None:
        super().__init__(model_dir, settings)
        self.session = onnx_session(model_dir / self.onnx_file, settings)
        self.input_name = self.session.get_inputs()[0].name
        labels = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))["id2label"]
        self.names = [labels[str(i)] for i in range(len(labels))]

    def preprocess(self, item: Sequence[np.ndarray]) -> np.ndarray:
        clip = np.stack([_square(np.asarray(f, np.uint8)) for f in evenly(item)]).astype(np.float32) / 255.0
        clip = (clip - MEAN) / STD
        return np.ascontiguousarray(clip.transpose(0, 3, 1, 2))  # [T, 3, H, W]

    def forward(self, batch: Sequence[np.ndarray]) -> list[np.ndarray]:
        return [np.asarray(self.session.run(None, {self.input_name: b[None]})[0])[0] for b in batch]

    def postprocess(self, raw: np.ndarray, item: Sequence[np.ndarray], pre: np.ndarray) -> VideoClasses:
        logits = np.asarray(raw, np.float64)
        if logits.shape != (len(self.names),):
            raise ValueError(f"the model answered {logits.shape} logits for {len(self.names)} classes")
        e = np.exp(logits - logits.max())
        return VideoClasses(self.names, (e / e.sum()).astype(np.float32))

    def close(self) -> None:
        self.session = None  # type: ignore[assignment]
