"""Multi-label image tags (PAI MultiLabelImageV2): ImageNet classes joined with COCO detections, plus zero-shot.

One pass of the image through MobileNetV2 (ImageNet-1k probabilities and 1280-d features) and NanoDet (COCO-80
objects). Each tag of the vocabulary (``data/tag_vocabulary.json``) is scored 0-1 as
``max(direct, 0.8 * zero_shot)`` (see ``evidence.tag_scores``): *direct* is the summed probability of the
ImageNet classes the tag groups, or the best NanoDet score of its COCO objects; *zero_shot* is the calibrated
ConSE (or CLIP, when installed) similarity of the image to the tag's name, which is what scores the scene and
activity tags that no classifier covers. Tags are ranked by score; ``features`` are the 1280-d MobileNetV2
features (``embedding.image_embedding`` makes the 512-d embedding from them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from medialens.analyses import evidence
from medialens.analyses.embedding import image_embedding
from medialens.config import Settings
from medialens.models.pipelines.clip import to_pil_rgb


@dataclass(frozen=True)
class Tag:
    """One tag: English name, 0-1 score (unrounded; protocols round to 3 decimals), Chinese name."""

    name: str
    score: float
    zh: str = ""


@dataclass(frozen=True)
class ImageTagsResult:
    tags: list[Tag]
    method: str
    width: int
    height: int
    features: np.ndarray  # (1280,) float32 MobileNetV2 features

    @property
    def embedding(self) -> np.ndarray:
        """The 512-d unit image embedding (fixed projection of ``features``)."""
        return image_embedding(self.features)


def tags_from_scores(scores: np.ndarray, top_k: int) -> list[Tag]:
    """The ``top_k`` best tags of a per-vocabulary score vector (ties keep vocabulary order)."""
    vocab = evidence.tag_vocabulary()
    idx = np.argsort(-np.asarray(scores), kind="stable")[: max(0, top_k)]
    return [Tag(name=vocab[i].en, score=float(scores[i]), zh=vocab[i].zh) for i in idx]


def tag_image(image: Image.Image, settings: Settings, top_k: int = 10) -> ImageTagsResult:
    """Rank the vocabulary's tags for ``image``; the ``top_k`` best are returned, best first."""
    rgb = to_pil_rgb(image)  # alpha composited on white
    pool = evidence.EvidencePool(settings)
    pool.add([rgb])
    ev = pool.evidence()
    scores = evidence.tag_scores(ev, settings)
    return ImageTagsResult(
        tags=tags_from_scores(scores, top_k),
        method=evidence.method_for(ev),
        width=image.width,
        height=image.height,
        features=ev.features,
    )
