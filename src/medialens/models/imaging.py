"""Image geometry shared by the detector and landmark pipelines: COCO-80 names and letterboxing.

A letterbox fits an image into a square model input keeping its aspect ratio (centred, padded), and remembers how
to map model coordinates back to the image: ``x_image = (x_model - pad_x) / scale``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

COCO80: tuple[str, ...] = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
    "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
    "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
    "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard",
    "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
    "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone",
    "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors", "teddy bear",
    "hair drier", "toothbrush",
)  # fmt: skip


@dataclass(frozen=True)
class Letterbox:
    """How an image of ``width`` x ``height`` was fitted into a ``size`` square input."""

    scale: float
    pad_x: float
    pad_y: float
    width: int
    height: int
    size: int

    def to_original(self, boxes: np.ndarray) -> np.ndarray:
        """Boxes (N, 4) x1,y1,x2,y2 in model pixels → image pixels, clipped to the image."""
        out = boxes.astype(np.float32).copy()
        out[:, [0, 2]] = ((out[:, [0, 2]] - self.pad_x) / self.scale).clip(0, self.width)
        out[:, [1, 3]] = ((out[:, [1, 3]] - self.pad_y) / self.scale).clip(0, self.height)
        return out

    def to_image(self, xy_norm: np.ndarray) -> np.ndarray:
        """Normalised (0-1) model-input points (..., 2) → image pixels."""
        out = np.empty_like(xy_norm, dtype=np.float64)
        out[..., 0] = (xy_norm[..., 0] * self.size - self.pad_x) / self.scale
        out[..., 1] = (xy_norm[..., 1] * self.size - self.pad_y) / self.scale
        return out


def letterbox(rgb: np.ndarray, size: int, fill: int = 114) -> tuple[np.ndarray, Letterbox]:
    """Fit an RGB uint8 image into a ``size`` square (area filter when shrinking); returns the canvas + geometry."""
    import cv2

    h, w = rgb.shape[:2]
    scale = min(size / w, size / h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    if (nw, nh) != (w, h):
        rgb = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    canvas = np.full((size, size, 3), fill, np.uint8)
    px, py = (size - nw) // 2, (size - nh) // 2
    canvas[py : py + nh, px : px + nw] = rgb
    return canvas, Letterbox(scale=scale, pad_x=px, pad_y=py, width=w, height=h, size=size)
