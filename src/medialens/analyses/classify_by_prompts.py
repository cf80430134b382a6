"""Classify indexed videos by classes of prompts, from stored evidence only (nothing is decoded here).

Each video's evidence (``analyses.video_index``) is compiled once into matrices (``Compiled``) and cached by the
caller. A request embeds its prompts with e5 (``query:``), then for every evidence item scores every prompt:

* **visual** (a segment): cosine of the prompt with the segment's visual embedding (ConSE over ImageNet classes
  and COCO objects plus the pose/face descriptors), calibrated ``100 * sigmoid((cos - VISUAL_CENTER) /
  VISUAL_SCALE)``; with CLIP evidence and CLIP text embeddings given, CLIP's cosine with ``CLIP_CENTER`` /
  ``CLIP_SCALE`` instead.
* **conversation** (a transcript segment): ``semantic``: e5 cosine of prompt and segment text, calibrated with
  ``TEXT_CENTER`` / ``TEXT_SCALE``; ``exact_match``: 100 when the prompt occurs in the text (case and punctuation
  ignored), 80 when all its words do, else 0.
* **text_in_video** (an on-screen text range): the exact-match rule, else the semantic score times
  ``OCR_SEMANTIC_WEIGHT``.

Per class: for every item the best prompt; items scoring at least ``min_clip_score`` (default
``CLIP_MIN_SCORE``) are the class's clips. ``max_score`` is the best item score, ``avg_score`` the mean over
the video's duration of the best score covering each instant (0 where nothing covers it), the class ``score``
``SCORE_MAX_WEIGHT * max_score + (1 - SCORE_MAX_WEIGHT) * avg_score``; ``duration_ratio`` the length of the union
of the clips over the video's duration; ``normalized_score`` each class's score over the sum of the video's
returned classes' scores, times 100.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

VISUAL_CENTER = 0.22
VISUAL_SCALE = 0.05
CLIP_CENTER = 0.22
CLIP_SCALE = 0.02
TEXT_CENTER = 0.84
TEXT_SCALE = 0.02
OCR_SEMANTIC_WEIGHT = 0.8
CLIP_MIN_SCORE = 50.0
SCORE_MAX_WEIGHT = 0.7
EMBED_DIM = 384
OPTIONS = ("visual", "conversation", "text_in_video")


@dataclass(frozen=True)
class Compiled:
    """One video's evidence as arrays: per option the items' [start, end] rows, embeddings and texts."""

    duration: float
    spans: dict[str, np.ndarray]  # option -> (n, 2)
    embeddings: dict[str, np.ndarray]  # option -> (n, 384) unit rows
    texts: dict[str, list[str]]  # conversation / text_in_video -> normalised texts
    clip: np.ndarray | None = None  # (segments, d) CLIP image embeddings


def _norm_text(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def _rows(vectors: list[list[float]]) -> np.ndarray:
    return np.array(vectors, np.float32) if vectors else np.zeros((0, EMBED_DIM), np.float32)


def compile_evidence(result: dict, *, descriptors: bool = True) -> Compiled:
    """Compile a stored ``video_index`` result (its JSON); ``descriptors=False`` (for measuring what the pose and
    face descriptors add) takes each segment's ConSE vector without them."""
    spans, embs, texts = {}, {}, {}
    segs = result.get("segments", [])
    spans["visual"] = np.array([[s["start"], s["end"]] for s in segs], np.float32).reshape(-1, 2)
    key = "embedding" if descriptors else "plain_embedding"
    embs["visual"] = _rows([s.get(key) or s["embedding"] for s in segs])
    clip = None
    if segs and all(s.get("clip_embedding") for s in segs):
        clip = np.array([s["clip_embedding"] for s in segs], np.float32)
    for option, key in (("conversation", "transcript"), ("text_in_video", "text_in_video")):
        items = result.get(key, [])
        spans[option] = np.array([[t["start"], t["end"]] for t in items], np.float32).reshape(-1, 2)
        embs[option] = _rows([t["embedding"] for t in items])
        texts[option] = [_norm_text(t["text"]) for t in items]
    return Compiled(float(result.get("duration", 0.0)), spans, embs, texts, clip)


@dataclass(frozen=True)
class ClassSpec:
    name: str
    prompts: tuple[str, ...]
    options: tuple[str, ...]
    conversation_option: str = "semantic"


@dataclass(frozen=True)
class Clip:
    start: float
    end: float
    score: float
    option: str
    prompt: str


@dataclass
class ClassResult:
    name: str
    score: float
    duration_ratio: float
    max_score: float
    avg_score: float
    normalized_score: float = 0.0
    clips: list[Clip] = field(default_factory=list)


def _sigmoid100(x: np.ndarray) -> np.ndarray:
    return 100.0 / (1.0 + np.exp(-x))


def _exact(prompt: str, texts: Sequence[str]) -> np.ndarray:
    p = _norm_text(prompt)
    words = p.split()
    out = np.zeros(len(texts), np.float32)
    for i, t in enumerate(texts):
        if p and f" {p} " in f" {t} ":
            out[i] = 100.0
        elif words and all(re.search(rf"\b{re.escape(w)}\b", t) for w in words):
            out[i] = 80.0
    return out


def item_scores(
    ev: Compiled,
    option: str,
    prompts: Sequence[str],
    prompt_emb: np.ndarray,
    conversation_option: str,
    clip_text: np.ndarray | None = None,
) -> np.ndarray:
    """(items, prompts) scores 0-100 of one option's evidence items."""
    n = len(ev.spans[option])
    if n == 0:
        return np.zeros((0, len(prompts)), np.float32)
    if option == "visual":
        if ev.clip is not None and clip_text is not None:
            return _sigmoid100((ev.clip @ clip_text.T - CLIP_CENTER) / CLIP_SCALE)
        return _sigmoid100((ev.embeddings[option] @ prompt_emb.T - VISUAL_CENTER) / VISUAL_SCALE)
    exact = np.stack([_exact(p, ev.texts[option]) for p in prompts], axis=1)
    if option == "conversation" and conversation_option == "exact_match":
        return exact
    semantic = _sigmoid100((ev.embeddings[option] @ prompt_emb.T - TEXT_CENTER) / TEXT_SCALE)
    if option == "text_in_video":
        semantic = semantic * OCR_SEMANTIC_WEIGHT
    return np.maximum(exact, semantic)


def _union_length(spans: list[tuple[float, float]]) -> float:
    total, cur_s, cur_e = 0.0, None, None
    for s, e in sorted(spans):
        if cur_e is None or s > cur_e:
            if cur_e is not None:
                total += cur_e - cur_s
            cur_s, cur_e = s, e
        else:
            cur_e = max(cur_e, e)
    if cur_e is not None:
        total += cur_e - cur_s
    return total


def _time_mean(items: list[tuple[float, float, float]], duration: float) -> float:
    """Mean over [0, duration] of the best score covering each instant (items: start, end, score)."""
    if duration <= 0 or not items:
        return 0.0
    cuts = sorted(
        {0.0, duration, *(min(max(s, 0.0), duration) for s, _e, _ in items)}
        | {min(max(e, 0.0), duration) for _s, e, _ in items}
    )
    total = 0.0
    for a, b in itertools.pairwise(cuts):
        mid = (a + b) / 2
        best = max((sc for s, e, sc in items if s <= mid < e), default=0.0)
        total += best * (b - a)
    return total / duration


def classify_video(
    ev: Compiled,
    classes: Sequence[ClassSpec],
    prompt_emb: dict[str, np.ndarray],
    *,
    clip_text: dict[str, np.ndarray] | None = None,
    min_clip_score: float = CLIP_MIN_SCORE,
) -> list[ClassResult]:
    """Every class's result for one video (unsorted, unfiltered)."""
    out = []
    for c in classes:
        emb = np.stack([prompt_emb[p] for p in c.prompts])
        ctext = np.stack([clip_text[p] for p in c.prompts]) if clip_text else None
        items: list[tuple[float, float, float, str, str]] = []
        for option in c.options:
            scores = item_scores(ev, option, c.prompts, emb, c.conversation_option, ctext)
            if scores.size == 0:
                continue
            best = scores.argmax(axis=1)
            for (s, e), k, row in zip(ev.spans[option], best, scores, strict=True):
                items.append((float(s), float(e), float(row[k]), option, c.prompts[k]))
        if not items:
            out.append(ClassResult(c.name, 0.0, 0.0, 0.0, 0.0))
            continue
        max_score = max(i[2] for i in items)
        avg = _time_mean([(s, e, sc) for s, e, sc, _o, _p in items], ev.duration)
        clips = [Clip(round(s, 3), round(e, 3), round(sc, 2), o, p) for s, e, sc, o, p in items if sc >= min_clip_score]
        clips.sort(key=lambda x: -x.score)
        ratio = _union_length([(x.start, x.end) for x in clips]) / ev.duration if ev.duration > 0 else 0.0
        score = SCORE_MAX_WEIGHT * max_score + (1 - SCORE_MAX_WEIGHT) * avg
        out.append(
            ClassResult(
                c.name, round(score, 2), round(min(1.0, ratio), 3), round(max_score, 2), round(avg, 2), clips=clips
            )
        )
    return out


def normalize(results: list[ClassResult]) -> None:
    total = sum(r.score for r in results)
    for r in results:
        r.normalized_score = 100.0 * r.score / total if total > 0 else 0.0
