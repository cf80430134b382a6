"""Post categorization and labeling (PAI MultiModalClassify): a video and/or images and/or text -> classes, tags,
32-d embedding.

Visual evidence is pooled over every item with equal weight per item (each sampled video frame and each image
counts once; see ``evidence.EvidencePool``). The text (title and introduction) is embedded with e5. Classes
and tags are computed as in ``video_classify``: the visual and text category distributions are mixed as a
product of experts with ``TEXT_WEIGHT = 0.5`` (either alone when the other is missing), and the text's tag
similarity joins the zero-shot part of the tag scores at the same weight. The 32-d embedding is the fixed
projection of [unit pooled visual features ; unit text embedding] (``embedding.post_embedding``). Video
width, height and duration are None when there is no video.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np
from PIL import Image

from medialens.analyses import evidence
from medialens.analyses.embedding import post_embedding
from medialens.analyses.image_tags import Tag, tags_from_scores
from medialens.analyses.video_classify import (
    ClassScore,
    category_probs,
    classes_from_probs,
    embed_text,
    pool_images,
)
from medialens.config import Settings
from medialens.media.types import Frame, VideoInfo
from medialens.models.pipelines.clip import to_pil_rgb

TEXT_WEIGHT = 0.5


@dataclass(frozen=True)
class MultimodalResult:
    classes: list[ClassScore]
    tags: list[Tag]
    embedding32: np.ndarray | None
    video_width: int | None
    video_height: int | None
    duration: float | None
    method: str = evidence.METHOD_CONSE


def classify_post(
    video: tuple[VideoInfo, Iterable[Frame]] | None,
    images: Sequence[Image.Image],
    text: str,
    settings: Settings,
    *,
    classification_top_k: int = 1,
    tag_top_k: int = 5,
    want_classes: bool = True,
    want_tags: bool = True,
    want_embedding: bool = True,
) -> MultimodalResult:
    """Classify, tag and embed a post. Raises ValueError when it has no video frame, no image and no text."""
    info, frames = video if video is not None else (None, ())
    ev = pool_images(chain((frame.rgb for frame in frames), (to_pil_rgb(img) for img in images)), settings)
    text_emb = embed_text(text, settings)
    if ev.empty and text_emb is None:
        raise ValueError("a post needs a video, an image or some text")
    visual = None if ev.empty else ev
    classes: list[ClassScore] = []
    tags: list[Tag] = []
    if want_classes:
        classes = classes_from_probs(category_probs(visual, text_emb, settings, TEXT_WEIGHT), classification_top_k)
    if want_tags:
        tags = tags_from_scores(evidence.tag_scores(visual, settings, text_emb, TEXT_WEIGHT), tag_top_k)
    embedding = None
    if want_embedding:
        embedding = post_embedding(None if visual is None else ev.features, text_emb)
    return MultimodalResult(
        classes=classes,
        tags=tags,
        embedding32=embedding,
        video_width=info.width if info else None,
        video_height=info.height if info else None,
        duration=info.duration_s if info else None,
        method=evidence.method_for(ev) if visual is not None else evidence.METHOD_TEXT,
    )
