"""Classify indexed videos by classes of prompts, from stored evidence only (nothing is decoded here).

Each video's evidence (``analyses.video_index``) is compiled once into matrices (``Compiled``) and cached by the
caller. A request embeds its prompts with e5 (``query:``), then for every evidence item scores every prompt:

* **visual** (a segment): cosine of the prompt with the segment's visual embedding (ConSE over ImageNet classes
  and COCO objects plus the pose/face descriptors), calibrated ``100 * sigmoid((cos - VISUAL_CENTER) /
  VISUAL_SCALE)``. With CLIP evidence and CLIP text embeddings given, CLIP is fused into that logit, not put in
  its place (``clip_logit``): its zero-shot log-odds of each prompt against the request's other prompts on the same
  item (logit scale 100, weight ``CLIP_WEIGHT``). The e5 evidence (ImageNet/COCO, pose, faces, hands) stays, and a
  visual model without knowledge (one that scores all prompts alike) leaves the scores as they were.
* **conversation** (a transcript segment): ``semantic``: e5 cosine of prompt and segment text, calibrated with
  ``TEXT_CENTER`` / ``TEXT_SCALE``; ``exact_match``: 100 when the prompt occurs in the text (case and punctuation
  ignored), 80 when all its words do, else 0.
* **text_in_video** (an on-screen text range): the exact-match rule, else the semantic score times
  ``OCR_SEMANTIC_WEIGHT``.

Per class: for every item the best prompt; items scoring at least ``min_clip_score`` (default
``CLIP_MIN_SCORE``) are the class's clips. ``max_score`` is the best item score, ``avg_score`` the length-weighted
mean score of all the class's evidence items, the class ``score``
``SCORE_MAX_WEIGHT * max_score + (1 - SCORE_MAX_WEIGHT) * avg_score``; ``duration_ratio`` the length of the union
of the clips over the video's duration; ``normalized_score`` each class's score over the sum of the video's
returned classes' scores, times 100.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

VISUAL_CENTER = 0.22
VISUAL_SCALE = 0.05
CLIP_LOGIT_SCALE = 100.0
CLIP_WEIGHT = 0.5
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


@dataclass(frozen=True)
class TextIndex:
    """Normalised texts prepared for exact matching: each padded with spaces (phrase lookup by substring) and its
    set of words (the all-words rule by set membership), built once per stacked batch."""

    padded: list[str]
    words: list[frozenset[str]]

    @classmethod
    def of(cls, texts: Sequence[str]) -> TextIndex:
        return cls([f" {t} " for t in texts], [frozenset(t.split()) for t in texts])


def _exact(prompt: str, texts: Sequence[str] | TextIndex) -> np.ndarray:
    """100 where the prompt occurs in the text, 80 where all its words do (texts and prompt normalised alike:
    lower case, words only), else 0."""
    index = texts if isinstance(texts, TextIndex) else TextIndex.of(texts)
    p = _norm_text(prompt)
    words = frozenset(p.split())
    out = np.zeros(len(index.padded), np.float32)
    if not p:
        return out
    phrase = f" {p} "
    for i, (padded, have) in enumerate(zip(index.padded, index.words, strict=True)):
        if phrase in padded:
            out[i] = 100.0
        elif words <= have:
            out[i] = 80.0
    return out


@dataclass(frozen=True)
class Batch:
    """Many videos' evidence stacked per option; ``owner`` gives each row's video (its position in the batch)."""

    durations: np.ndarray
    spans: dict[str, np.ndarray]
    embeddings: dict[str, np.ndarray]
    owner: dict[str, np.ndarray]
    texts: dict[str, TextIndex]
    clip: np.ndarray | None = None
    bounds: dict[str, np.ndarray] = field(default_factory=dict)
    """Per option, where each video's rows start (rows are stacked video by video): video k owns
    ``bounds[k]:bounds[k + 1]``."""

    @property
    def size(self) -> int:
        return len(self.durations)

    def rows_of(self, option: str, video: int) -> slice:
        b = self.bounds[option]
        return slice(int(b[video]), int(b[video + 1]))

    def max_by_video(self, option: str, values: np.ndarray) -> np.ndarray:
        """Per video, the largest of its rows' ``values`` (0 for a video without rows)."""
        b = self.bounds[option]
        out = np.zeros(self.size)
        has = b[1:] > b[:-1]
        if has.any():
            out[has] = np.maximum.reduceat(values, b[:-1][has])
        return out


def stack(videos: Sequence[Compiled]) -> Batch:
    spans, embs, owner, texts, bounds = {}, {}, {}, {}, {}
    for option in OPTIONS:
        parts = [v.spans[option] for v in videos]
        bounds[option] = np.concatenate([[0], np.cumsum([len(p) for p in parts], dtype=np.int64)])
        spans[option] = np.concatenate(parts) if parts else np.zeros((0, 2), np.float32)
        embs[option] = np.concatenate([v.embeddings[option] for v in videos]) if parts else _rows([])
        owner[option] = np.repeat(np.arange(len(videos)), [len(p) for p in parts])
        texts[option] = TextIndex.of([t for v in videos for t in v.texts.get(option, [])])
    clip = None
    if videos and all(v.clip is not None for v in videos):
        clip = np.concatenate([v.clip for v in videos])
    return Batch(np.array([v.duration for v in videos], np.float64), spans, embs, owner, texts, clip, bounds)


def clip_logit(images: np.ndarray, texts: np.ndarray) -> np.ndarray:
    """CLIP's evidence for each (item, prompt) as a logit to add to the e5 evidence: its zero-shot log-odds of the
    prompt against the request's other prompts, ``CLIP_LOGIT_SCALE * (cos - mean cos of the item's prompts)``,
    times ``CLIP_WEIGHT``. Centred per item, so a model that scores every prompt alike (one with no knowledge)
    adds nothing, and a prompt only gains by beating the alternatives on that item."""
    cos = images @ texts.T
    return CLIP_WEIGHT * CLIP_LOGIT_SCALE * (cos - cos.mean(axis=1, keepdims=True))


def option_scores(
    batch: Batch,
    option: str,
    prompts: Sequence[str],
    prompt_emb: np.ndarray,
    conversation_option: str,
    clip_text: np.ndarray | None = None,
) -> np.ndarray:
    """(items, prompts) scores 0-100 of one option's evidence items."""
    n = len(batch.spans[option])
    if n == 0 or not len(prompts):
        return np.zeros((n, len(prompts)), np.float32)
    if option == "visual":
        logit = (batch.embeddings[option] @ prompt_emb.T - VISUAL_CENTER) / VISUAL_SCALE
        if batch.clip is not None and clip_text is not None:
            logit = logit + clip_logit(batch.clip, clip_text)
        return _sigmoid100(logit)
    if option == "conversation" and conversation_option == "exact_match":
        return np.stack([_exact(p, batch.texts[option]) for p in prompts], axis=1)
    semantic = _sigmoid100((batch.embeddings[option] @ prompt_emb.T - TEXT_CENTER) / TEXT_SCALE)
    if option == "text_in_video":
        exact = np.stack([_exact(p, batch.texts[option]) for p in prompts], axis=1)
        return np.maximum(exact, semantic * OCR_SEMANTIC_WEIGHT)
    return semantic


@dataclass
class ClassScores:
    """One class over a batch: per video ``score``, ``max_score``, ``avg_score``, ``duration_ratio``; per option
    the items' best score and best prompt (for the clips)."""

    spec: ClassSpec
    score: np.ndarray
    max_score: np.ndarray
    avg_score: np.ndarray
    duration_ratio: np.ndarray
    items: dict[str, tuple[np.ndarray, np.ndarray]]


def score_batch(
    batch: Batch,
    classes: Sequence[ClassSpec],
    prompt_emb: dict[str, np.ndarray],
    *,
    clip_text: dict[str, np.ndarray] | None = None,
    min_clip_score: float = CLIP_MIN_SCORE,
) -> list[ClassScores]:
    """Every class over every video of the batch, vectorised over evidence items.

    ``avg_score`` is the length-weighted mean of the class's evidence items (every option it uses);
    ``duration_ratio`` the union of its clips over the video's length (items of one option never overlap, so
    only videos with clips from several options need the union computed item by item).
    """
    prompts = sorted({p for c in classes for p in c.prompts})
    col = {p: i for i, p in enumerate(prompts)}
    p_emb = np.stack([prompt_emb[p] for p in prompts]).astype(np.float32)
    c_emb = np.stack([clip_text[p] for p in prompts]).astype(np.float32) if clip_text else None
    full: dict[tuple[str, str], np.ndarray] = {}
    v = batch.size
    out = []
    for c in classes:
        cols = [col[p] for p in c.prompts]
        maxs, sw, lw = np.zeros(v), np.zeros(v), np.zeros(v)
        clip_len, clip_opts = np.zeros(v), np.zeros(v, np.int32)
        items = {}
        for option in c.options:
            key = (option, c.conversation_option if option == "conversation" else "")
            if key not in full:
                full[key] = option_scores(batch, option, prompts, p_emb, c.conversation_option, c_emb)
            scores = full[key][:, cols]
            if scores.shape[0] == 0:
                continue
            best, arg = scores.max(axis=1), scores.argmax(axis=1)
            owner, span = batch.owner[option], batch.spans[option]
            length = np.maximum(span[:, 1] - span[:, 0], 1e-3)
            np.maximum(maxs, batch.max_by_video(option, best), out=maxs)
            sw += np.bincount(owner, best * length, v)
            lw += np.bincount(owner, length, v)
            hit = best >= min_clip_score
            by_video = np.bincount(owner[hit], length[hit], v)
            clip_len += by_video
            clip_opts += by_video > 0
            items[option] = (best, arg)
        avg = np.divide(sw, lw, out=np.zeros(v), where=lw > 0)
        ratio = np.divide(clip_len, batch.durations, out=np.zeros(v), where=batch.durations > 0)
        scores = ClassScores(c, SCORE_MAX_WEIGHT * maxs + (1 - SCORE_MAX_WEIGHT) * avg, maxs, avg, ratio, items)
        for k in np.nonzero(clip_opts > 1)[0]:
            spans = [(cl.start, cl.end) for cl in clips_of(batch, scores, int(k), min_clip_score)]
            ratio[k] = _union_length(spans) / batch.durations[k]
        np.minimum(ratio, 1.0, out=ratio)
        out.append(scores)
    return out


def clips_of(batch: Batch, scores: ClassScores, video: int, min_clip_score: float) -> list[Clip]:
    """One video's clips of one class, best first."""
    clips = []
    for option, (best, arg) in scores.items.items():
        own = batch.rows_of(option, video)
        rows = own.start + np.nonzero(best[own] >= min_clip_score)[0]
        for r in rows:
            s, e = batch.spans[option][r]
            clips.append(
                Clip(
                    round(float(s), 3),
                    round(float(e), 3),
                    round(float(best[r]), 2),
                    option,
                    scores.spec.prompts[int(arg[r])],
                )
            )
    clips.sort(key=lambda x: -x.score)
    return clips


def result_of(batch: Batch, scores: ClassScores, video: int, min_clip_score: float) -> ClassResult:
    return ClassResult(
        scores.spec.name,
        round(float(scores.score[video]), 2),
        round(float(scores.duration_ratio[video]), 3),
        round(float(scores.max_score[video]), 2),
        round(float(scores.avg_score[video]), 2),
        clips=clips_of(batch, scores, video, min_clip_score),
    )


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


def classify_video(
    ev: Compiled,
    classes: Sequence[ClassSpec],
    prompt_emb: dict[str, np.ndarray],
    *,
    clip_text: dict[str, np.ndarray] | None = None,
    min_clip_score: float = CLIP_MIN_SCORE,
) -> list[ClassResult]:
    """Every class's result for one video (unsorted, unfiltered)."""
    batch = stack([ev])
    scored = score_batch(batch, classes, prompt_emb, clip_text=clip_text, min_clip_score=min_clip_score)
    return [result_of(batch, s, 0, min_clip_score) for s in scored]


def normalize(results: list[ClassResult]) -> None:
    total = sum(r.score for r in results)
    for r in results:
        r.normalized_score = 100.0 * r.score / total if total > 0 else 0.0
