"""WD14 anime/illustration taggers (SmilingWolf ``wd-v1-4-*-tagger-v2``): one pipeline for the four v2 repos.

Files: ``model.onnx`` (input [N, 448, 448, 3] float32, **BGR**, 0-255, NHWC; output [N, len(tags)] sigmoid
probabilities) and ``selected_tags.csv`` (``tag_id,name,category,count``; category 9 = rating, 0 = general,
4 = character). Preprocessing as in SmilingWolf's reference code: alpha composited on white, padded to a square
with white, bicubic resize to the input size, RGB -> BGR.

Result: the rating with the highest score, general tags over ``threshold``, character tags over
``character_threshold``, a caption like PAI's ``multi_label_image_v2`` tagger ("sensitive, 1girl, solo, long hair")
and the full probability list.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from PIL import Image

from medialens.config import Settings
from medialens.models.pipeline import Pipeline
from medialens.models.pipelines import register_pipeline
from medialens.models.pipelines.clip import ImageLike, to_pil_rgb
from medialens.models.runtime import onnx_session

RATING, GENERAL, CHARACTER = 9, 0, 4

#: Tags whose underscores are part of the tag (emoticons), kept as they are when underscores become spaces.
KAOMOJIS = frozenset(
    {
        "0_0", "(o)_(o)", "+_+", "+_-", "._.", "<o>_<o>", "<|>_<|>", "=_=", ">_<", "3_3", "6_9", ">_o", "@_@",
        "^_^", "o_o", "u_u", "x_x", "|_|", "||_||",
    }
)  # fmt: skip

#: PAI's ``tagger_type`` values -> our model names.
TAGGER_TYPES = {
    "SmilingWolf/wd-v1-4-convnextv2-tagger-v2": "wd14-convnextv2-v2",
    "SmilingWolf/wd-v1-4-convnext-tagger-v2": "wd14-convnext-v2",
    "SmilingWolf/wd-v1-4-vit-tagger-v2": "wd14-vit-v2",
    "SmilingWolf/wd-v1-4-swinv2-tagger-v2": "wd14-swinv2-v2",
}
DEFAULT_TAGGER = "wd14-convnextv2-v2"


@dataclass(frozen=True)
class Tag:
    name: str
    category: int


@dataclass
class TaggerResult:
    caption: str
    rating: tuple[str, float]
    general: list[tuple[str, float]]
    character: list[tuple[str, float]]
    probs: list[float] = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"caption": self.caption, "probs": self.probs}


def read_tags(path: Path) -> list[Tag]:
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    tags = []
    for row in rows:
        name = row["name"]
        tags.append(Tag(name if name in KAOMOJIS else name.replace("_", " "), int(row["category"])))
    return tags


def pad_square_white(img: Image.Image) -> Image.Image:
    w, h = img.size
    side = max(w, h)
    if w == h:
        return img
    canvas = Image.new("RGB", (side, side), (255, 255, 255))
    canvas.paste(img, ((side - w) // 2, (side - h) // 2))
    return canvas


class Wd14Tagger(Pipeline[ImageLike, np.ndarray, TaggerResult]):
    threshold: float = 0.35
    character_threshold: float = 0.85
    default_size: ClassVar[int] = 448

    def __init__(self, model_dir: Path, settings: Settings) -> None:
        super().__init__(model_dir, settings)
        self.session = onnx_session(model_dir / "model.onnx", settings)
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        shape = list(inp.shape)
        self.channels_last = len(shape) == 4 and shape[-1] == 3
        side = shape[1] if self.channels_last else (shape[2] if len(shape) == 4 else None)
        self.size = side if isinstance(side, int) and side > 0 else self.default_size
        self.fixed_batch = shape[0] if shape and isinstance(shape[0], int) and shape[0] > 0 else None
        self.tags = read_tags(model_dir / "selected_tags.csv")
        out = self.session.get_outputs()[0]
        width = out.shape[-1] if out.shape else None
        if isinstance(width, int) and width != len(self.tags):
            raise ValueError(f"{self.model_name}: model has {width} outputs, selected_tags.csv {len(self.tags)} rows")
        self._rating_idx = np.array([i for i, t in enumerate(self.tags) if t.category == RATING], dtype=np.int64)
        self._general_idx = np.array([i for i, t in enumerate(self.tags) if t.category == GENERAL], dtype=np.int64)
        self._char_idx = np.array([i for i, t in enumerate(self.tags) if t.category == CHARACTER], dtype=np.int64)

    def preprocess(self, item: ImageLike) -> np.ndarray:
        img = pad_square_white(to_pil_rgb(item))
        if img.size != (self.size, self.size):
            img = img.resize((self.size, self.size), resample=Image.Resampling.BICUBIC)
        arr = np.asarray(img, dtype=np.float32)[..., ::-1]  # RGB -> BGR, 0-255
        if not self.channels_last:
            arr = arr.transpose(2, 0, 1)
        return np.ascontiguousarray(arr)

    def forward(self, batch: Sequence[np.ndarray]) -> Sequence[np.ndarray]:
        x = np.stack(batch)
        if self.fixed_batch == 1 and len(batch) > 1:
            return [self.session.run(None, {self.input_name: x[i : i + 1]})[0][0] for i in range(len(batch))]
        return list(self.session.run(None, {self.input_name: x})[0])

    def postprocess(self, raw: np.ndarray, item: ImageLike, pre: np.ndarray) -> TaggerResult:
        return self.interpret(raw)

    def interpret(
        self, raw: np.ndarray, threshold: float | None = None, character_threshold: float | None = None
    ) -> TaggerResult:
        probs = np.asarray(raw, dtype=np.float32).reshape(-1)
        gen_t = self.threshold if threshold is None else threshold
        char_t = self.character_threshold if character_threshold is None else character_threshold
        rating = ("", 0.0)
        if self._rating_idx.size:
            best = int(self._rating_idx[np.argmax(probs[self._rating_idx])])
            rating = (self.tags[best].name, float(probs[best]))
        general = [(self.tags[i].name, float(probs[i])) for i in self._general_idx if probs[i] > gen_t]
        character = [(self.tags[i].name, float(probs[i])) for i in self._char_idx if probs[i] > char_t]
        names = ([rating[0]] if rating[0] else []) + [n for n, _ in general] + [n for n, _ in character]
        return TaggerResult(
            caption=", ".join(names), rating=rating, general=general, character=character, probs=probs.tolist()
        )

    def tag(
        self, image: ImageLike, threshold: float | None = None, character_threshold: float | None = None
    ) -> TaggerResult:
        (raw,) = self.forward([self.preprocess(image)])
        return self.interpret(raw, threshold, character_threshold)

    def close(self) -> None:
        self.session = None  # type: ignore[assignment]


@register_pipeline
class Wd14ConvNextV2(Wd14Tagger):
    model_name = "wd14-convnextv2-v2"


@register_pipeline
class Wd14ConvNext(Wd14Tagger):
    model_name = "wd14-convnext-v2"


@register_pipeline
class Wd14ViT(Wd14Tagger):
    model_name = "wd14-vit-v2"


@register_pipeline
class Wd14SwinV2(Wd14Tagger):
    model_name = "wd14-swinv2-v2"
