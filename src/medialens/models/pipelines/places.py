"""Places365 scene classification (CSAIL ResNet18 trained on Places365-Standard), as ONNX.

Preprocessing as in CSAIL's ``run_placesCNN_basic.py``: resize the short side to 256, centre-crop 224, ImageNet
mean/std, NCHW float32. The graph outputs 365 logits; softmax gives probabilities. ``categories_places365.txt``
lines read ``/a/airfield 0``; the name is the path after the ``/x/`` letter prefix (``airfield``,
``apartment_building/outdoor``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from medialens.config import Settings
from medialens.models.pipeline import Pipeline
from medialens.models.pipelines import register_pipeline
from medialens.models.pipelines.clip import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    ImageLike,
    center_crop,
    normalize_chw,
    resize_short_side,
    softmax,
    to_pil_rgb,
)
from medialens.models.runtime import onnx_session


@dataclass
class SceneResult:
    top: list[tuple[str, float]]  # (scene name, probability), best first
    probs: np.ndarray  # [365] float32, sums to 1


def read_categories(path: Path) -> list[str]:
    names = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        token = line.split()[0]
        names.append(token[3:] if token.startswith("/") and token[2:3] == "/" else token.lstrip("/"))
    return names


@register_pipeline
class Places365ResNet18(Pipeline[ImageLike, np.ndarray, SceneResult]):
    model_name = "places365-resnet18"
    onnx_file = "resnet18_places365.onnx"
    resize = 256
    crop = 224
    top_k = 5

    def __init__(self, model_dir: Path, settings: Settings) -> None:
        super().__init__(model_dir, settings)
        self.session = onnx_session(model_dir / self.onnx_file, settings)
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        first = inp.shape[0] if inp.shape else None
        self.fixed_batch = first if isinstance(first, int) and first > 0 else None
        self.categories = read_categories(model_dir / "categories_places365.txt")
        width = self.session.get_outputs()[0].shape[-1]
        if isinstance(width, int) and width != len(self.categories):
            raise ValueError(f"{self.model_name}: {width} outputs but {len(self.categories)} categories")

    def preprocess(self, item: ImageLike) -> np.ndarray:
        img = center_crop(resize_short_side(to_pil_rgb(item), self.resize), self.crop)
        return normalize_chw(img, IMAGENET_MEAN, IMAGENET_STD)

    def forward(self, batch: Sequence[np.ndarray]) -> Sequence[np.ndarray]:
        x = np.stack(batch)
        if self.fixed_batch == 1 and len(batch) > 1:
            return [self.session.run(None, {self.input_name: x[i : i + 1]})[0][0] for i in range(len(batch))]
        return list(self.session.run(None, {self.input_name: x})[0])

    def postprocess(self, raw: np.ndarray, item: ImageLike, pre: np.ndarray) -> SceneResult:
        return self.interpret(raw, self.top_k)

    def interpret(self, raw: np.ndarray, k: int) -> SceneResult:
        probs = softmax(np.asarray(raw, dtype=np.float32).reshape(-1))
        order = np.argsort(-probs)[:k]
        return SceneResult([(self.categories[i], float(probs[i])) for i in order], probs)

    def close(self) -> None:
        self.session = None  # type: ignore[assignment]
