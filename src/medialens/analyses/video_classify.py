"""Video classification by label (PAI ClassifyLabelVideo): one category out of the taxonomy, tags, 64-d embedding.

The caller samples frames once (``medialens.media.video.iter_frames``, e.g. 2 fps) and every output shares
them: each frame goes through MobileNetV2 and NanoDet exactly once, in batches, and only running sums are kept
(mean ImageNet probabilities, mean 1280-d features, per COCO label the mean over frames of its best detection
score, and its largest per-frame count). From the pooled evidence:

* classes: ConSE (or CLIP) zero-shot over ``data/taxonomy.json``, a softmax (see ``evidence``). When a title
  is given it is embedded with e5 and its own category distribution is mixed in as a product of experts,
  ``softmax((1 - TITLE_WEIGHT) * log p_visual + TITLE_WEIGHT * log p_title)`` with ``TITLE_WEIGHT = 0.5``: the
  title counts as much as the pictures, because ImageNet/COCO have no action concepts and offline visual
  evidence for videos of people is near chance (MODELS.md), while titles name their topic.
* tags: ``evidence.tag_scores`` over the pooled evidence, the title's tag similarity mixed into the zero-shot
  part at the same weight.
* embedding64: fixed projection of the mean features (``embedding.video_embedding``).

OCR text and speech transcripts could join the title as text evidence later; they are not used yet.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from PIL import Image

from medialens.analyses import evidence
from medialens.analyses.embedding import video_embedding
from medialens.analyses.image_tags import Tag, tags_from_scores
from medialens.config import Settings
from medialens.media.types import Frame, VideoInfo

TITLE_WEIGHT = 0.5
"""Weight of the title beside the frames, for categories (log-linear mix) and for tags' zero-shot part."""
FRAME_BATCH = 16


@dataclass(frozen=True)
class ClassScore:
    """One category: English name, 0-1 probability (the taxonomy's probabilities sum to 1), Chinese name, id."""

    name: str
    score: float
    zh: str = ""
    id: str = ""


@dataclass(frozen=True)
class VideoClassifyResult:
    classes: list[ClassScore]
    tags: list[Tag]
    embedding64: np.ndarray | None
    width: int
    height: int
    duration: float
    method: str = evidence.METHOD_CONSE
    frames: int = 0


def classes_from_probs(probs: np.ndarray, top_k: int) -> list[ClassScore]:
    cats = evidence.taxonomy()
    idx = np.argsort(-np.asarray(probs), kind="stable")[: max(0, top_k)]
    return [ClassScore(name=cats[i].en, score=float(probs[i]), zh=cats[i].zh, id=cats[i].id) for i in idx]


def category_probs(
    ev: evidence.VisualEvidence | None, text_embedding: np.ndarray | None, settings: Settings, text_weight: float
) -> np.ndarray:
    """Category distribution from visual evidence and/or a text embedding (product of experts when both)."""
    parts: list[tuple[np.ndarray, float]] = []
    has_text = text_embedding is not None
    if ev is not None and not ev.empty:
        parts.append((evidence.visual_category_probs(ev, settings), 1.0 - text_weight if has_text else 1.0))
    if has_text:
        parts.append((evidence.text_category_probs(text_embedding, settings), text_weight if parts else 1.0))
    if not parts:
        raise ValueError("no visual or text evidence to classify")
    return evidence.mix_probs(parts)


def pool_frames(frames: Iterable[Frame], settings: Settings) -> evidence.VisualEvidence:
    """Run each frame once through the models (batches of FRAME_BATCH) and pool the results."""
    return pool_images((frame.rgb for frame in frames), settings)


def pool_images(images: Iterable[np.ndarray | Image.Image], settings: Settings) -> evidence.VisualEvidence:
    """Run each picture (a frame's RGB array or an image) once through the models, FRAME_BATCH at a time, and pool
    the results."""
    pool = evidence.EvidencePool(settings)
    batch: list[np.ndarray | Image.Image] = []
    for image in images:
        batch.append(image)
        if len(batch) >= FRAME_BATCH:
            pool.add(batch)
            batch = []
    pool.add(batch)
    return pool.evidence()


def embed_text(text: str | None, settings: Settings) -> np.ndarray | None:
    """e5 embedding of a title/post text, or None when it is empty."""
    if text is None or not text.strip():
        return None
    return evidence.embed_texts([text.strip()], settings)[0]


def classify_video(
    frames: Iterable[Frame],
    info: VideoInfo,
    title: str,
    settings: Settings,
    *,
    classification_top_k: int = 1,
    tag_top_k: int = 5,
    want_classes: bool = True,
    want_tags: bool = True,
    want_embedding: bool = True,
) -> VideoClassifyResult:
    """Classify and tag a video from its sampled frames (and its title, when not empty).

    Raises ValueError when ``frames`` is empty.
    """
    ev = pool_frames(frames, settings)
    if ev.empty:
        raise ValueError("no frames to classify")
    title_emb = embed_text(title, settings) if (want_classes or want_tags) else None
    classes: list[ClassScore] = []
    tags: list[Tag] = []
    if want_classes:
        classes = classes_from_probs(category_probs(ev, title_emb, settings, TITLE_WEIGHT), classification_top_k)
    if want_tags:
        tags = tags_from_scores(evidence.tag_scores(ev, settings, title_emb, TITLE_WEIGHT), tag_top_k)
    return VideoClassifyResult(
        classes=classes,
        tags=tags,
        embedding64=video_embedding(ev.features) if want_embedding else None,
        width=info.width,
        height=info.height,
        duration=info.duration_s,
        method=evidence.method_for(ev),
        frames=ev.n,
    )
