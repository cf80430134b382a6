"""Video fingerprints (VOD AIMediaDNA): per-frame MobileNetV2 R-MAC descriptors, PCA-whitened, matched by
temporal alignment — protocol-agnostic.

The recipe (issue 13's calibration, views cut down where they did not pay): frames sampled at ``SAMPLE_FPS``,
decoded straight to ``FRAME_SIDE``; black borders removed; the last feature map of MobileNetV2 (1280 x 7 x 7 at
224 px) R-MAC pooled (regional max-pooling over a multi-scale grid, each region L2-normalised, summed); PCA-whitened
to ``DIM`` (power ``WHITEN_POWER``, fitted on still images of the test media, not on videos, shipped as
``data/fingerprint_pca.npz``) and L2-normalised. A query keeps the full view only; a reference keeps the full
frame, its mirror image (computed on every other frame, ``MIRROR_EVERY``) and its 90 % centre crop (``VIEWS``: on
the test copies an 80 % crop and a mirrored crop found nothing more, and each view costs one network run), and a
query frame's similarity to a reference frame is the best over its views. Two videos match when the best diagonal
of their frame-similarity matrix (a constant offset: copies keep the time scale whatever their frame rate) has a
high mean over its top ``TOP_K`` aligned similarities; the run of aligned frames above ``FRAME_MATCH`` gives the
duplicated segment. A second, temporal term verifies the candidate: the aligned frames must also change alike
(``compare``).
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import cv2
import numpy as np

from medialens.config import Settings
from medialens.media.types import Frame
from medialens.models.convert import FINGERPRINT_FEATURE_MAP as FEATURE_MAP
from medialens.models.convert import FINGERPRINT_SIDE as SIDE

MODEL = "mobilenet-v2"
SAMPLE_FPS = 2.0
DIM = 128
WHITEN_POWER = 0.35
VIEWS = ("full", "mirrored", "crop90")  # a reference's views of each sampled frame (``views``)
LEGACY_VIEWS = ("full", "mirrored", "crop90", "crop90-mirrored", "crop80", "crop80-mirrored")  # before 0006
LEGACY_VIEWS_KEPT = tuple(LEGACY_VIEWS.index(name) for name in VIEWS)
CROP_VIEW = 0.9
MIRROR_EVERY = 2  # the mirrored view is computed on every other frame (``fingerprint``)
FRAME_SIDE = 320  # sampled frames are decoded to this size: enough for the views' SIDE x SIDE inputs
BATCH = 16  # images per network run (``raw_descriptors``)
# sampled frames per batch of ``fingerprint`` (10 network runs): small, so the network starts on the first frames
# while the rest decode. A DNA job on 15 s of 720p (bench clips, same run): 24.2-26.6x real time with 16 frames a
# batch, 27.4-32.2x with 8, 30.2-34.3x with 4; 2 and 3 no better.
FRAMES_PER_BATCH = 4
TOP_K = 8
MOTION_WEIGHT = 0.6  # chosen with VIDEO_MATCH on half the test videos (bench/fingerprint.py); 0.3 before
SPREAD_MIN = 0.1
# the hardest negative among the chosen half's copies scored 0.588 (bench/fingerprint.py; 0.694 with the float
# network: all similarities come out lower with int8, copies and negatives alike), + 0.005, rounded up
VIDEO_MATCH = 0.595
FRAME_MATCH = VIDEO_MATCH
BLACK = 24  # luma below which an edge row/column is letterbox
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)
METHOD = f"mobilenetv2-int8-rmac-pca{DIM}-{SAMPLE_FPS:g}fps-{len(VIEWS)}views"

_lock = threading.Lock()
_sessions: dict[Path, object] = {}


def _session(settings: Settings):
    """The int8 MobileNetV2 feature-map network a pull builds (``models/convert/fingerprint_int8.py``), once.

    One intra-op thread: ``fingerprint`` runs ``_workers`` batches at once instead. On the busy 2-core machine one
    2-thread run of a 15 s clip's frames took 1.16 CPU-s against 0.91 for 1-thread runs (same run, interleaved)."""
    import onnxruntime as ort

    from medialens.models.convert import MOBILENET_V2_FINGERPRINT_INT8
    from medialens.models.installed import model_files
    from medialens.models.runtime import onnx_providers, session_options

    root = model_files(MODEL, settings)
    with _lock:
        if root not in _sessions:
            opts = session_options(settings)
            opts.intra_op_num_threads = 1
            path = str(root / MOBILENET_V2_FINGERPRINT_INT8)
            _sessions[root] = ort.InferenceSession(path, opts, providers=onnx_providers(settings))
        return _sessions[root]


@cache
def _pca() -> tuple[np.ndarray, np.ndarray]:
    """(mean 1280, projection 1280 x DIM with the whitening folded in)."""
    with resources.files("medialens").joinpath("data/fingerprint_pca.npz").open("rb") as f:
        data = np.load(f)
        return data["mean"].astype(np.float32), data["proj"].astype(np.float32)


def _rmac_regions(h: int, w: int, levels: int = 3) -> list[tuple[int, int, int, int]]:
    """R-MAC's square regions (Tolias et al. 2016) on an h x w map: level l has l x (l + extra) overlapping
    squares of side 2 * min(h, w) / (l + 1)."""
    regions = [(0, 0, h, w)]
    m = min(h, w)
    for level in range(1, levels + 1):
        side = max(1, round(2 * m / (level + 1)))
        ny, nx = level + (h > w), level + (w > h)
        ys = np.linspace(0, h - side, ny).round().astype(int) if ny > 1 else [max(0, (h - side) // 2)]
        xs = np.linspace(0, w - side, nx).round().astype(int) if nx > 1 else [max(0, (w - side) // 2)]
        regions += [(int(y), int(x), int(y) + side, int(x) + side) for y in ys for x in xs]
    return regions


def _unit(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=axis, keepdims=True), 1e-8)


def rmac(fmap: np.ndarray) -> np.ndarray:
    """(N, C, H, W) feature maps -> (N, C) R-MAC vectors (regions L2-normalised, summed, L2-normalised).

    Pooled channels-last, so each region's max runs over contiguous channel rows (5x faster than over (H, W))."""
    n, c, h, w = fmap.shape
    maps = np.ascontiguousarray(fmap.transpose(0, 2, 3, 1))
    regions = _rmac_regions(h, w)
    pooled = np.empty((len(regions), n, c), np.float32)
    for i, (y0, x0, y1, x1) in enumerate(regions):
        np.max(maps[:, y0:y1, x0:x1].reshape(n, -1, c), axis=1, out=pooled[i])
    return _unit(_unit(pooled).sum(axis=0))


def whiten(vectors: np.ndarray) -> np.ndarray:
    """PCA-whitened unit vectors, through ``einsum``'s single-threaded loop rather than BLAS: after each product
    OpenBLAS's idle threads spin on the cores the network runs need (a 16-frame batch cost 17.7 CPU-ms a frame
    with its default pool, 10.8 without; this product takes 0.5 ms a batch either way)."""
    mean, proj = _pca()
    return _unit(np.einsum("nd,dk->nk", _unit(vectors) - mean, proj))


def trim_borders(rgb: np.ndarray) -> np.ndarray:
    """The frame without black letterbox / pillarbox bars (kept whole when it is all dark).

    Row and column means of the luma taken with OpenCV: 0.06 ms a 320 x 180 frame against 1.4 ms for NumPy's
    float64 means (a fifteenth of a network run)."""
    luma = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
    rows = np.flatnonzero(cv2.reduce(luma, 1, cv2.REDUCE_AVG, dtype=cv2.CV_32F)[:, 0] > BLACK)
    cols = np.flatnonzero(cv2.reduce(luma, 0, cv2.REDUCE_AVG, dtype=cv2.CV_32F)[0] > BLACK)
    if rows.size < rgb.shape[0] * 0.3 or cols.size < rgb.shape[1] * 0.3:
        return rgb
    return rgb[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def centre(rgb: np.ndarray, keep: float) -> np.ndarray:
    """The centre ``keep`` fraction of an image (both sides)."""
    if keep >= 1.0:
        return rgb
    h, w = rgb.shape[:2]
    ch, cw = int(h * keep), int(w * keep)
    return rgb[(h - ch) // 2 : (h - ch) // 2 + ch, (w - cw) // 2 : (w - cw) // 2 + cw]


def _input(rgb: np.ndarray) -> np.ndarray:
    """An RGB image as the network's normalised CHW input (squeezed to SIDE x SIDE)."""
    return _inputs([rgb])[0]


_SCALE = (1 / (255.0 * STD)).astype(np.float32)
_SHIFT = (-MEAN / STD).astype(np.float32)


def _inputs(images: Sequence[np.ndarray]) -> np.ndarray:
    """RGB images as one normalised NCHW batch (each squeezed to SIDE x SIDE): normalised once for the batch."""
    x = np.stack([cv2.resize(np.ascontiguousarray(im), (SIDE, SIDE), interpolation=cv2.INTER_AREA) for im in images])
    out = np.empty((len(images), 3, SIDE, SIDE), np.float32)
    for ch in range(3):
        np.multiply(x[..., ch], _SCALE[ch], out=out[:, ch], casting="unsafe")
        out[:, ch] += _SHIFT[ch]
    return out


def raw_descriptors(images: Sequence[np.ndarray], settings: Settings, *, batch: int = BATCH) -> np.ndarray:
    """(N, 1280) R-MAC vectors of RGB images (already cropped to their view)."""
    session = _session(settings)
    out = []
    for i in range(0, len(images), batch):
        x = _inputs(images[i : i + batch])
        fmap = session.run([FEATURE_MAP], {"input": x})[0]
        out.append(rmac(fmap))
    return np.concatenate(out) if out else np.zeros((0, 1280), np.float32)


def views(rgb: np.ndarray, reference: bool, mirrored: bool = True) -> list[np.ndarray]:
    """A sampled frame's views, black borders removed: the full frame, and for a reference also its mirror image
    (unless ``mirrored`` is False) and its centre ``CROP_VIEW`` (``VIEWS``)."""
    rgb = trim_borders(rgb)
    if not reference:
        return [rgb]
    return [rgb, rgb[:, ::-1], centre(rgb, CROP_VIEW)] if mirrored else [rgb, centre(rgb, CROP_VIEW)]


@dataclass(frozen=True)
class Fingerprint:
    """``vectors``: (frames, views, DIM) float16, unit rows; view 0 is the full frame (a reference has ``VIEWS``)."""

    fps: float
    vectors: np.ndarray

    @property
    def f32(self) -> np.ndarray:
        """``vectors`` as float32 (converted when compared: a float32 copy of a library would double its memory)."""
        return self.vectors.astype(np.float32)

    @property
    def frames(self) -> int:
        return int(self.vectors.shape[0])

    def to_bytes(self) -> bytes:
        return self.vectors.astype(np.float16).tobytes()

    @classmethod
    def from_bytes(cls, data: bytes, fps: float, dim: int = DIM, views: int = len(VIEWS)) -> Fingerprint:
        """Read a stored fingerprint of ``views`` views per frame. The six-view layout stored before migration 0006
        (full, mirrored, 90 % crop, its mirror, 80 % crop, its mirror) keeps the three views used now."""
        v = np.frombuffer(data, dtype=np.float16).reshape(-1, views, dim)
        if views == len(LEGACY_VIEWS):
            v = v[:, list(LEGACY_VIEWS_KEPT), :]
        elif views != len(VIEWS) and views != 1:
            raise ValueError(f"a stored fingerprint has {views} views per frame; this version reads {len(VIEWS)}")
        return cls(fps, v)


def _describe(images: list[np.ndarray], settings: Settings) -> np.ndarray:
    """Whitened descriptors of a batch's views (one pool task)."""
    return whiten(raw_descriptors(images, settings))


MAX_WORKERS = 4  # batches in flight at most: each holds FRAMES_PER_BATCH frames' views and feature maps (~10 MB)


def _workers(settings: Settings) -> int:
    """How many batches run through the network at once: ``model_threads`` (0: one per core), at most
    ``MAX_WORKERS``."""
    return max(1, min(MAX_WORKERS, settings.model_threads or os.cpu_count() or 1))


def fingerprint(frames: Iterable[Frame], settings: Settings, *, reference: bool = True) -> Fingerprint:
    """The fingerprint of sampled frames; ``reference`` adds the mirrored and cropped views (library entries).

    The mirrored view is computed on every ``MIRROR_EVERY``-th frame only; the frames between keep the last one
    computed (the alignment tolerates a sample of jitter): 2.5 network runs a frame instead of 3, and on the test
    copies the same copies found (mirroring every third frame lost two on the half the threshold is chosen on).
    Frames are taken ``FRAMES_PER_BATCH`` at a time, ``_workers`` batches through the network at once (each a
    single-threaded run), so memory stays bounded however long the video."""
    per = len(VIEWS) if reference else 1
    chunks: list[np.ndarray] = []
    pending: list[np.ndarray] = []
    mirrored: list[bool] = []  # per pending frame: whether its own mirror view is among ``pending``
    running: deque[tuple[Future[np.ndarray], list[bool]]] = deque()
    last_mirror = np.zeros(DIM, np.float32)
    workers = _workers(settings)

    def collect() -> None:
        """The oldest running batch's descriptors laid out as (frames, views, DIM), in frame order."""
        nonlocal last_mirror
        future, own_mirror = running.popleft()
        desc = future.result()
        out = np.empty((len(own_mirror), per, DIM), np.float32)
        at = 0
        for i, own in enumerate(own_mirror):
            out[i, 0] = desc[at]
            if reference:
                last_mirror = desc[at + 1] if own else last_mirror
                out[i, 1], out[i, 2] = last_mirror, desc[at + 1 + own]
            at += (2 + own) if reference else 1
        chunks.append(out.astype(np.float16))

    with ThreadPoolExecutor(workers, thread_name_prefix="fingerprint") as pool:

        def submit() -> None:
            running.append((pool.submit(_describe, list(pending), settings), mirrored[:]))
            pending.clear()
            mirrored.clear()
            while len(running) > workers:
                collect()

        for index, frame in enumerate(frames):
            own = index % MIRROR_EVERY == 0
            pending += views(frame.rgb, reference, own)
            mirrored.append(own)
            if len(mirrored) >= FRAMES_PER_BATCH:
                submit()
        if mirrored:
            submit()
        while running:
            collect()
    return Fingerprint(SAMPLE_FPS, np.concatenate(chunks) if chunks else np.zeros((0, per, DIM), np.float16))


@dataclass(frozen=True)
class SegmentMatch:
    input_start: float
    input_duration: float
    dup_start: float
    dup_duration: float


@dataclass(frozen=True)
class Match:
    similarity: float
    segments: list[SegmentMatch]


def _spread(x: np.ndarray) -> float:
    """How much a video's frames differ from their mean (0 for a still image held for the whole video)."""
    return float(np.linalg.norm(x - x.mean(axis=0), axis=-1).mean())


def _jitter(sim: np.ndarray) -> np.ndarray:
    """Each cell's best over its reference neighbours: tolerates one sample of jitter between two samplings."""
    out = sim.copy()
    np.maximum(out[:, 1:], sim[:, :-1], out=out[:, 1:])
    np.maximum(out[:, :-1], sim[:, 1:], out=out[:, :-1])
    return out


def _diagonals(m: np.ndarray) -> np.ndarray:
    """(nq, nr) -> (nq, nq + nr - 1): column ``c`` holds diagonal ``off = c - (nq - 1)`` of ``m`` (cells
    ``m[i, i + off]``, row ``i``), NaN where that diagonal has no cell."""
    nq, nr = m.shape
    out = np.full((nq, nq + nr - 1), np.nan, np.float32)
    rows = np.arange(nq)[:, None]
    out[rows, np.arange(nr)[None, :] - rows + nq - 1] = m
    return out


def _top_mean(diags: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per column of ``_diagonals``: (mean of its top ``min(k, length)`` cells, its length)."""
    length = (~np.isnan(diags)).sum(axis=0)
    ranked = np.sort(np.where(np.isnan(diags), -np.inf, diags), axis=0)[::-1]  # best first, gaps last
    take = np.minimum(k, length)
    sums = np.where(np.arange(len(ranked))[:, None] < take[None, :], ranked, 0.0).sum(axis=0)
    return sums / np.maximum(take, 1), length


def _views_sim(q: np.ndarray, r: np.ndarray) -> np.ndarray:
    """(nq, d) x (nr, views, d) -> (nq, nr, views) dot products, as one BLAS product."""
    nr, nv, d = r.shape
    return (q @ r.reshape(nr * nv, d).T).reshape(len(q), nr, nv)


def _score(query: Fingerprint, ref: Fingerprint) -> tuple[float, int, np.ndarray] | None:
    """(score, offset, jittered similarity matrix) of the best diagonal, offset = reference frame - query frame.

    The score mixes how alike the aligned frames are (``1 - MOTION_WEIGHT``) with how alike their changes are:
    the same descriptors with each video's mean removed, compared along the same diagonal (``MOTION_WEIGHT``).
    The second term separates two takes in front of the same background (a signer signing different words,
    whose frames are all alike) from a copy, which moves the same way; it is left out for near-still videos."""
    if query.frames == 0 or ref.frames == 0:
        return None
    q = query.f32[:, 0, :]  # the query's full view
    r = ref.f32
    per_view = _views_sim(q, r)
    best_view = per_view.argmax(axis=2)
    exact = per_view.max(axis=2)  # (q frames, r frames): best reference view
    sim = _jitter(exact)
    nq, nr = sim.shape
    value, length = _top_mean(_diagonals(sim), TOP_K)
    if min(_spread(q), _spread(r[:, 0, :])) >= SPREAD_MIN:
        qc, rc = _unit(q - q.mean(axis=0)), _unit(r - r.mean(axis=0, keepdims=True))
        motion = np.take_along_axis(_views_sim(qc, rc), best_view[:, :, None], axis=2)[:, :, 0]
        value = (1 - MOTION_WEIGHT) * value + MOTION_WEIGHT * np.nanmean(_diagonals(_jitter(motion)), axis=0)
    key = value + 0.01 * np.nanmean(_diagonals(exact), axis=0)  # ties go to the exact alignment
    key[length < min(TOP_K, nq, nr)] = -np.inf  # diagonals too short to judge
    best = int(np.argmax(key))
    return float(value[best]), best - (nq - 1), sim


def similarity(query: Fingerprint, ref: Fingerprint) -> float:
    """The score ``compare`` thresholds at ``VIDEO_MATCH`` (-1 when either is empty): for benches choosing it."""
    found = _score(query, ref)
    return -1.0 if found is None else found[0]


def compare(query: Fingerprint, ref: Fingerprint) -> Match | None:
    """Whether ``query`` copies (part of) ``ref``: the best diagonal's score and its aligned segment, or None."""
    found = _score(query, ref)
    if found is None or found[0] < VIDEO_MATCH:
        return None
    score, best_off, sim = found
    diag = np.diagonal(sim, offset=best_off)
    hits = np.flatnonzero(diag >= FRAME_MATCH)
    if hits.size == 0:
        return None
    i0 = max(0, -best_off)
    first, last = int(hits[0]), int(hits[-1])
    step = 1.0 / query.fps
    seg = SegmentMatch(
        (i0 + first) * step, (last - first + 1) * step, (i0 + first + best_off) * step, (last - first + 1) * step
    )
    return Match(round(score, 4), [seg])


SEGMENT_S = 5.0
CANDIDATES = 10


def segment_means(fpr: Fingerprint, views: int | None = None) -> np.ndarray:
    """(segments, DIM) unit means of consecutive ``SEGMENT_S`` windows over the first ``views`` views of each frame
    (all when None): the first stage's keys.

    A reference's key averages its views (full, mirrored, cropped) into one: on the test copies the true reference
    then ranked first for every copy (it did not for 1 of 120 with a key per view, or with the full view's alone),
    with a third of the keys to scan."""
    per = max(1, int(SEGMENT_S * fpr.fps))
    v = fpr.f32[:, :views, :].mean(axis=1)
    keys = [v[i : i + per].mean(axis=0) for i in range(0, max(1, fpr.frames - per // 2), per)] or [v.mean(axis=0)]
    return _unit(np.stack(keys))


class FingerprintIndex:
    """A library of fingerprints with a cheap first stage: every reference's 5 s segment means (its views averaged)
    in one float32 matrix; a query's segment means pick the ``CANDIDATES`` closest references, and only those are
    aligned frame by frame (``compare``). Entries are added, replaced and removed by key; the matrix is rebuilt on
    the first query after a change."""

    def __init__(self) -> None:
        self._prints: dict[str, Fingerprint] = {}
        self._keys: dict[str, np.ndarray] = {}
        self._ids: list[str] = []
        self._matrix: np.ndarray | None = None
        self._starts = np.zeros(0, np.int64)

    def add(self, key: str, fpr: Fingerprint) -> None:
        """Add ``fpr`` under ``key`` (replacing what that key held)."""
        self._prints[key] = fpr
        self._keys[key] = segment_means(fpr).astype(np.float16)
        self._matrix = None

    def remove(self, key: str) -> None:
        if self._prints.pop(key, None) is not None:
            del self._keys[key]
            self._matrix = None

    def __len__(self) -> int:
        return len(self._prints)

    def __contains__(self, key: object) -> bool:
        return key in self._prints

    def __getitem__(self, key: str) -> Fingerprint:
        return self._prints[key]

    @property
    def ids(self) -> list[str]:
        return list(self._prints)

    def _build(self) -> np.ndarray:
        if self._matrix is None:
            self._ids = list(self._keys)
            keys = [self._keys[k] for k in self._ids]
            self._matrix = np.concatenate(keys).astype(np.float32)
            self._starts = np.cumsum([0] + [len(k) for k in keys[:-1]])
        return self._matrix

    def candidates(self, query: Fingerprint, k: int = CANDIDATES) -> list[str]:
        """The keys of the ``k`` references whose segments come closest to one of the query's."""
        if not self._prints or query.frames == 0:
            return []
        matrix = self._build()
        # each key's best query segment; einsum's single-threaded loop, not BLAS: for so flat a product (a few rows
        # against 60,000 keys) OpenBLAS's threads cost more than they bring (5 vs 10-18 CPU-ms on a busy machine)
        sims = np.einsum("kd,nd->kn", segment_means(query, 1), matrix).max(axis=0)
        best = np.maximum.reduceat(sims, self._starts)  # each reference's best key (its keys are contiguous)
        k = min(k, len(self._ids))
        return [self._ids[int(i)] for i in np.argpartition(-best, k - 1)[:k]]

    def query(self, query: Fingerprint, exclude: str | None = None) -> list[tuple[str, Match]]:
        """The references ``query`` copies, best first."""
        found = []
        for key in self.candidates(query):
            if key == exclude:
                continue
            match = compare(query, self._prints[key])
            if match is not None:
                found.append((key, match))
        return sorted(found, key=lambda m: -m[1].similarity)
