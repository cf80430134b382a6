"""ImageNet-1k classification and 1280-d image features: torchvision MobileNetV2, converted to ONNX at pull time.

Preprocessing is torchvision's eval transform: resize the short side to 256 (bilinear, antialiased), centre-crop
224, scale to [0, 1], normalise with the ImageNet mean/std, NCHW float32. One forward gives both the class
logits and the pooled features (the input of ConSE zero-shot and image embeddings).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
from PIL import Image

from medialens.config import Settings
from medialens.models.convert import MOBILENET_V2_ONNX
from medialens.models.pipeline import Pipeline
from medialens.models.pipelines import register_pipeline
from medialens.models.runtime import onnx_session

MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)
RESIZE = 256
CROP = 224
_NORMALISED = np.stack([(np.arange(256, dtype=np.float32) / 255.0 - MEAN[c]) / STD[c] for c in range(3)])
"""Per RGB channel, every uint8 level already normalised: three table lookups instead of float arithmetic over
the image (bit-identical)."""


@functools.cache
def imagenet_classes() -> tuple[str, ...]:
    """The 1,000 ImageNet-1k class names in index order (package data)."""
    text = resources.files("medialens").joinpath("data/imagenet_classes.txt").read_text(encoding="utf-8")
    names = tuple(line.strip() for line in text.splitlines() if line.strip())
    if len(names) != 1000:
        raise RuntimeError(f"imagenet_classes.txt has {len(names)} names, expected 1000")
    return names


@functools.cache
def imagenet_text_names() -> tuple[str, ...]:
    """Class names rewritten for a text embedder ('kite' -> 'kite (bird of prey)'), index order."""
    data = json.loads(resources.files("medialens").joinpath("data/imagenet_text_names.json").read_text("utf-8"))
    return tuple(data["names"])


@dataclass(frozen=True)
class ImageNetResult:
    """Softmax over the 1,000 classes and the pooled 1280-d features of one image."""

    probs: np.ndarray  # (1000,) float32, sums to 1
    features: np.ndarray  # (1280,) float32

    def top(self, k: int = 5) -> list[tuple[int, str, float]]:
        """The ``k`` most probable classes as (class id, name, probability), best first."""
        names = imagenet_classes()
        idx = np.argsort(-self.probs, kind="stable")[:k]
        return [(int(i), names[i], float(self.probs[i])) for i in idx]


def preprocess_image(image: Image.Image, resize: int = RESIZE, crop: int = CROP) -> np.ndarray:
    """PIL image -> (3, crop, crop) float32, torchvision eval transform."""
    img = image.convert("RGB")
    w, h = img.size
    scale = resize / min(w, h)
    nw, nh = max(crop, round(w * scale)), max(crop, round(h * scale))
    img = img.resize((nw, nh), Image.Resampling.BILINEAR)
    left, top = (nw - crop) // 2, (nh - crop) // 2
    img = img.crop((left, top, left + crop, top + crop))
    rgb = np.asarray(img)
    x = np.empty((3, crop, crop), np.float32)
    for c in range(3):
        np.take(_NORMALISED[c], rgb[:, :, c], out=x[c])
    return x


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


@register_pipeline
class MobileNetV2Pipeline(Pipeline[Image.Image, np.ndarray, ImageNetResult]):
    """PIL image -> :class:`ImageNetResult` (top-k ImageNet classes + 1280-d features)."""

    model_name = "mobilenet-v2"
    max_batch_size = 16

    def __init__(self, model_dir: Path, settings: Settings) -> None:
        super().__init__(model_dir, settings)
        self.session = onnx_session(model_dir / MOBILENET_V2_ONNX, settings)
        self._input = self.session.get_inputs()[0].name

    def preprocess(self, item: Image.Image) -> np.ndarray:
        return preprocess_image(item)

    def forward(self, batch: Sequence[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
        x = np.stack(batch).astype(np.float32, copy=False)
        logits, features = self.session.run(["logits", "features"], {self._input: x})
        return list(zip(logits, features, strict=True))

    def postprocess(self, raw: tuple[np.ndarray, np.ndarray], item: Image.Image, pre: np.ndarray) -> ImageNetResult:
        logits, features = raw
        return ImageNetResult(probs=softmax(np.asarray(logits, np.float32)), features=np.asarray(features, np.float32))

    def close(self) -> None:
        self.session = None  # type: ignore[assignment]
