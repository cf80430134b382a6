"""Image restoration models of the Model Hub services: DDColor colourisation and GFPGAN face restoration (ONNX).

DDColor (paper-tiny) sees only the lightness: the image's Lab L, with a = b = 0, back in RGB at 512 x 512; it
predicts the a and b planes, which are resized to the image and joined with the image's own L (so detail and
brightness are the photo's). GFPGAN v1.4 takes one FFHQ-aligned 512 x 512 face, RGB scaled to -1..1, and
returns the restored face in the same form; aligning and blending back is the analysis' work.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from medialens.config import Settings
from medialens.models.pipeline import Pipeline
from medialens.models.pipelines import register_pipeline
from medialens.models.pipelines.clip import ImageLike, to_pil_rgb
from medialens.models.runtime import onnx_session


class _Onnx:
    onnx_file = ""

    def _open(self, model_dir: Path, settings: Settings) -> None:
        self.session = onnx_session(model_dir / self.onnx_file, settings)
        self.input_name = self.session.get_inputs()[0].name

    def _run(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.session.run(None, {self.input_name: x})[0])

    def close(self) -> None:
        self.session = None  # type: ignore[assignment]


@register_pipeline
class DDColorTiny(_Onnx, Pipeline[ImageLike, tuple[np.ndarray, np.ndarray], Image.Image]):
    model_name = "ddcolor-tiny"
    onnx_file = "ddcolor_tiny_512_int8.onnx"
    size = 512
    max_batch_size = 1  # the export has a fixed batch of 1

    def __init__(self, model_dir: Path, settings: Settings) -> None:
        super().__init__(model_dir, settings)
        self._open(model_dir, settings)

    def preprocess(self, item: ImageLike) -> tuple[np.ndarray, np.ndarray]:
        import cv2

        rgb = np.asarray(to_pil_rgb(item), np.float32) / 255.0
        lightness = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)[:, :, :1]  # L in 0..100
        small = cv2.resize(rgb, (self.size, self.size), interpolation=cv2.INTER_LINEAR)
        lab = cv2.cvtColor(small, cv2.COLOR_RGB2LAB)
        lab[:, :, 1:] = 0.0
        grey = cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)
        return np.ascontiguousarray(grey.transpose(2, 0, 1)), lightness

    def forward(self, batch: Sequence[tuple[np.ndarray, np.ndarray]]) -> list[np.ndarray]:
        return [self._run(b[0][None])[0] for b in batch]

    def postprocess(self, raw: np.ndarray, item: ImageLike, pre: tuple[np.ndarray, np.ndarray]) -> Image.Image:
        import cv2

        lightness = pre[1]
        h, w = lightness.shape[:2]
        ab = cv2.resize(np.asarray(raw, np.float32).transpose(1, 2, 0), (w, h), interpolation=cv2.INTER_LINEAR)
        lab = np.concatenate([lightness, ab.reshape(h, w, 2)], axis=2)
        rgb = np.clip(cv2.cvtColor(lab, cv2.COLOR_LAB2RGB), 0.0, 1.0)
        return Image.fromarray((rgb * 255.0).round().astype(np.uint8))


@register_pipeline
class GFPGANv14(_Onnx, Pipeline[np.ndarray, np.ndarray, np.ndarray]):
    """One aligned face: uint8 RGB [512, 512, 3] in, restored uint8 RGB [512, 512, 3] out."""

    model_name = "gfpgan-v1.4"
    onnx_file = "GFPGANv1.4.onnx"
    size = 512
    max_batch_size = 1
    # Where the eye centres and the nose tip sit in GFPGAN's 512 x 512 FFHQ face (facexlib's template).
    TEMPLATE = np.array([[192.98138, 239.94708], [318.90277, 240.1936], [256.63416, 314.01935]], np.float32)

    def __init__(self, model_dir: Path, settings: Settings) -> None:
        super().__init__(model_dir, settings)
        self._open(model_dir, settings)

    def preprocess(self, item: np.ndarray) -> np.ndarray:
        face = np.asarray(item, np.float32) / 127.5 - 1.0
        return np.ascontiguousarray(face.transpose(2, 0, 1))

    def forward(self, batch: Sequence[np.ndarray]) -> list[np.ndarray]:
        return [self._run(b[None])[0] for b in batch]

    def postprocess(self, raw: np.ndarray, item: np.ndarray, pre: np.ndarray) -> np.ndarray:
        out = (np.clip(np.asarray(raw, np.float32), -1.0, 1.0) + 1.0) * 127.5
        return out.transpose(1, 2, 0).round().astype(np.uint8)
