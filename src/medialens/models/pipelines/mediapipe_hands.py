"""MediaPipe Hands on LiteRT alone: the palm detector and the 21-point hand landmark model.

The ``.tflite`` files come from the ``mediapipe==0.10.21`` wheel (Apache-2.0); what mediapipe's graphs do around
the two networks is our code, following ``mediapipe/modules/palm_detection/palm_detection_cpu.pbtxt`` and
``hand_landmark/palm_detection_detection_to_roi.pbtxt``:

* **palm detection**: the image letterboxed to 192 x 192 (zero borders, values in [0, 1]); 2,016 SSD anchors
  (strides 8, 16, 16, 16, fixed size) decoded into a box and 7 keypoints each, sigmoid scores, weighted
  non-max suppression (IoU 0.3);
* **palm → hand ROI**: rotation from keypoint 0 (wrist) to keypoint 2 (middle-finger knuckle), target 90°;
  the box shifted by half its height towards the fingers, squared on its long side and scaled by 2.6;
* **hand landmarks**: that ROI resampled to 224 x 224 (values in [0, 1]); 21 points projected back to the
  image, a hand-presence score (sigmoid) and a handedness score.

No tracking between frames: every image runs the detector (callers sample video sparsely and only where a person
is, see ``analyses.video_index``).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from medialens.config import Settings
from medialens.models.pipeline import Pipeline
from medialens.models.pipelines import register_pipeline
from medialens.models.pipelines.faces import as_rgb_array
from medialens.models.pipelines.mediapipe_models import (
    Roi,
    _decode,
    _interpreter,
    _rotation,
    letterbox,
    ssd_anchor_centres,
    weighted_nms,
)

HAND_LANDMARKS = (
    "wrist",
    "thumb_cmc",
    "thumb_mcp",
    "thumb_ip",
    "thumb_tip",
    "index_mcp",
    "index_pip",
    "index_dip",
    "index_tip",
    "middle_mcp",
    "middle_pip",
    "middle_dip",
    "middle_tip",
    "ring_mcp",
    "ring_pip",
    "ring_dip",
    "ring_tip",
    "pinky_mcp",
    "pinky_pip",
    "pinky_dip",
    "pinky_tip",
)
"""The 21 MediaPipe hand landmarks."""


@dataclass(frozen=True, eq=False)
class Hand:
    points: np.ndarray = field(repr=False)
    """21 x 3: x, y in image pixels, z relative depth (wrist-relative, same pixel scale)."""
    score: float
    """Hand presence from the landmark model."""
    palm_score: float
    """The palm detector's score."""
    handedness: float
    """The model's "right hand" probability (trained on mirrored selfies: for plain camera images it is flipped)."""
    roi: Roi

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": round(self.score, 4),
            "palm_score": round(self.palm_score, 4),
            "handedness": round(self.handedness, 4),
            "landmarks": {
                name: [round(float(p[0]), 2), round(float(p[1]), 2), round(float(p[2]), 2)]
                for name, p in zip(HAND_LANDMARKS, self.points, strict=True)
            },
        }


def palm_roi(box_px: np.ndarray, wrist: np.ndarray, middle_mcp: np.ndarray) -> Roi:
    """DetectionsToRects (rotation from keypoints 0 → 2, target 90°) + RectTransformation (shift_y -0.5,
    square_long, scale 2.6), all in image pixels."""
    x0, y0, x1, y1 = (float(v) for v in box_px)
    w, h = x1 - x0, y1 - y0
    rotation = _rotation(wrist, middle_mcp, 90.0)
    shift_y = -0.5
    cx = (x0 + x1) / 2 - h * shift_y * math.sin(rotation)
    cy = (y0 + y1) / 2 + h * shift_y * math.cos(rotation)
    return Roi(cx, cy, max(w, h) * 2.6, rotation)


@register_pipeline
class HandsPipeline(Pipeline[Any, np.ndarray, list[Hand]]):
    """Image → up to ``max_hands`` hands with 21 landmarks each (best palm detections first)."""

    model_name = "mediapipe-hands"
    max_batch_size = 4
    detector_size = 192
    landmark_size = 224
    min_palm_score = 0.5
    min_hand_score = 0.5
    max_hands = 2

    def __init__(self, model_dir: Path, settings: Settings) -> None:
        super().__init__(model_dir, settings)
        self._det = _interpreter(model_dir / "palm_detection_full.tflite", settings)
        self._det_in = self._det.get_input_details()[0]["index"]
        det_outs = sorted(self._det.get_output_details(), key=lambda d: int(d["shape"][-1]), reverse=True)
        self._det_reg, self._det_cls = det_outs[0]["index"], det_outs[1]["index"]
        self._lm = _interpreter(model_dir / "hand_landmark_full.tflite", settings)
        self._lm_in = self._lm.get_input_details()[0]["index"]
        by_name = {d["name"]: d["index"] for d in self._lm.get_output_details()}
        # tensors: landmarks (63), hand flag (1), handedness (1), world landmarks (63).
        self._lm_points, self._lm_flag, self._lm_hand = (
            by_name["Identity"],
            by_name["Identity_1"],
            by_name["Identity_2"],
        )
        self._anchors = ssd_anchor_centres(self.detector_size, (8, 16, 16, 16))
        self._lock = threading.Lock()

    def preprocess(self, item: Any) -> np.ndarray:
        return as_rgb_array(item)

    def _palms(self, image: np.ndarray) -> list[tuple[Roi, float]]:
        boxed, lb = letterbox(image, self.detector_size)
        self._det.set_tensor(self._det_in, (boxed.astype(np.float32) / 255.0)[None])
        self._det.invoke()
        reg = self._det.get_tensor(self._det_reg)[0]
        cls = self._det.get_tensor(self._det_cls)[0]
        dets = weighted_nms(_decode(reg, cls, self._anchors, self.detector_size, 7, self.min_palm_score))
        dets.sort(key=lambda d: -d.score)
        out = []
        for d in dets[: self.max_hands]:
            box = lb.to_image(d.box.reshape(2, 2)).reshape(-1)
            kps = lb.to_image(d.keypoints)
            out.append((palm_roi(box, kps[0], kps[2]), d.score))
        return out

    def _landmarks(self, image: np.ndarray, roi: Roi) -> tuple[np.ndarray, float, float]:
        x = roi.crop(image, self.landmark_size).astype(np.float32) / 255.0
        self._lm.set_tensor(self._lm_in, x[None])
        self._lm.invoke()
        raw = self._lm.get_tensor(self._lm_points).reshape(21, 3).astype(np.float64)
        flag = float(self._lm.get_tensor(self._lm_flag).reshape(-1)[0])
        handed = float(self._lm.get_tensor(self._lm_hand).reshape(-1)[0])
        xy = roi.to_image(raw[:, :2] / self.landmark_size)
        z = raw[:, 2] / self.landmark_size * roi.size
        return np.column_stack([xy, z]), flag, handed

    def forward(self, batch: Sequence[np.ndarray]) -> list[list[tuple[np.ndarray, float, float, float, Roi]]]:
        out = []
        with self._lock:
            for image in batch:
                hands = []
                for roi, palm_score in self._palms(image):
                    points, flag, handed = self._landmarks(image, roi)
                    hands.append((points, flag, palm_score, handed, roi))
                out.append(hands)
        return out

    def postprocess(self, raw: list[tuple[np.ndarray, float, float, float, Roi]], item: Any, pre: Any) -> list[Hand]:
        return [
            Hand(points.astype(np.float32), flag, palm, handed, roi)
            for points, flag, palm, handed, roi in raw
            if flag >= self.min_hand_score
        ]
