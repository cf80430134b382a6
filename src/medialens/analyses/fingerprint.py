"""Video fingerprints (VOD AIMediaDNA): per-frame MobileNetV2 R-MAC descriptors, PCA-whitened, matched by
temporal alignment — protocol-agnostic.

The recipe (issue 13's calibration): frames sampled at ``SAMPLE_FPS``; black borders removed; the last feature map
of MobileNetV2 (1280 x 7 x 7 at 224 px) R-MAC pooled (regional max-pooling over a multi-scale grid, each region
L2-normalised, summed) for several views; PCA-whitened to ``DIM`` (power ``WHITEN_POWER``, fitted on still images
of the test media, not on videos, shipped as ``data/fingerprint_pca.npz``) and L2-normalised. A query keeps the
full view only; a reference keeps the full frame and 90 % / 80 % centre crops, each also mirrored, and a query
frame's similarity to a reference frame is the best over its views. Two videos match when the best diagonal of
their frame-similarity matrix (a constant offset: copies keep the time scale whatever their frame rate) has a
high mean over its top ``TOP_K`` aligned similarities; the run of aligned frames above ``FRAME_MATCH`` gives the
duplicated segment. A second, temporal term verifies the candidate: the aligned frames must also change alike
(``compare``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
from PIL import Image

from medialens.config import Settings
from medialens.media.types import Frame

MODEL = "mobilenet-v2"
FEATURE_MAP = "clip_271"  # the last 1280-channel map, before global average pooling
SIDE = 224
SAMPLE_FPS = 2.0
DIM = 128
WHITEN_POWER = 0.35
REF_VIEWS = (1.0, 0.9, 0.8)
TOP_K = 8
MOTION_WEIGHT = 0.3
SPREAD_MIN = 0.1
VIDEO_MATCH = 0.77  # chosen on the test copies (bench/fingerprint.py): the hardest negative scored 0.765
FRAME_MATCH = 0.70
BLACK = 24  # luma below which an edge row/column is letterbox
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)
METHOD = f"mobilenetv2-rmac-pca{DIM}-{SAMPLE_FPS:g}fps"

_lock = threading.Lock()
_sessions: dict[Path, object] = {}


def _session(settings: Settings):
    """MobileNetV2 with its last feature map as an extra output (built from the installed model, once)."""
    import onnx
    import onnxruntime as ort

    from medialens.models.installed import model_files
    from medialens.models.runtime import onnx_providers, session_options

    root = model_files(MODEL, settings)
    with _lock:
        if root not in _sessions:
            model = onnx.load(str(root / "mobilenet_v2.onnx"))
            model.graph.output.append(onnx.helper.make_tensor_value_info(FEATURE_MAP, onnx.TensorProto.FLOAT, None))
            dims = model.graph.input[0].type.tensor_type.shape.dim
            dims[2].dim_param, dims[3].dim_param = "height", "width"  # any input size (the network is convolutional)
            _sessions[root] = ort.InferenceSession(
                model.SerializeToString(), session_options(settings), providers=onnx_providers(settings)
            )
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
    """(N, C, H, W) feature maps -> (N, C) R-MAC vectors (regions L2-normalised, summed, L2-normalised)."""
    n, c, h, w = fmap.shape
    out = np.zeros((n, c), np.float32)
    for y0, x0, y1, x1 in _rmac_regions(h, w):
        out += _unit(fmap[:, :, y0:y1, x0:x1].max(axis=(2, 3)))
    return _unit(out)


def whiten(vectors: np.ndarray) -> np.ndarray:
    mean, proj = _pca()
    return _unit((_unit(vectors) - mean) @ proj)


def trim_borders(rgb: np.ndarray) -> np.ndarray:
    """The frame without black letterbox / pillarbox bars (kept whole when it is all dark)."""
    luma = rgb.mean(axis=2)
    rows = np.flatnonzero(luma.mean(axis=1) > BLACK)
    cols = np.flatnonzero(luma.mean(axis=0) > BLACK)
    if rows.size < rgb.shape[0] * 0.3 or cols.size < rgb.shape[1] * 0.3:
        return rgb
    return rgb[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def _view(rgb: np.ndarray, keep: float) -> np.ndarray:
    h, w = rgb.shape[:2]
    if keep < 1.0:
        ch, cw = int(h * keep), int(w * keep)
        rgb = rgb[(h - ch) // 2 : (h - ch) // 2 + ch, (w - cw) // 2 : (w - cw) // 2 + cw]
    img = Image.fromarray(np.ascontiguousarray(rgb)).resize((SIDE, SIDE), Image.Resampling.BILINEAR)
    x = (np.asarray(img, np.float32) / 255.0 - MEAN) / STD
    return x.transpose(2, 0, 1)


def raw_descriptors(images: Sequence[np.ndarray], settings: Settings, *, batch: int = 16) -> np.ndarray:
    """(N, 1280) R-MAC vectors of RGB images (already cropped to their view)."""
    session = _session(settings)
    out = []
    for i in range(0, len(images), batch):
        x = np.stack([_view(im, 1.0) for im in images[i : i + batch]]).astype(np.float32)
        fmap = session.run([FEATURE_MAP], {"input": x})[0]
        out.append(rmac(fmap))
    return np.concatenate(out) if out else np.zeros((0, 1280), np.float32)


@dataclass(frozen=True)
class Fingerprint:
    """``vectors``: (frames, views, DIM) float16, unit rows; view 0 is the full frame."""

    fps: float
    vectors: np.ndarray

    @property
    def frames(self) -> int:
        return int(self.vectors.shape[0])

    def to_bytes(self) -> bytes:
        return self.vectors.astype(np.float16).tobytes()

    @classmethod
    def from_bytes(cls, data: bytes, fps: float, dim: int = DIM) -> Fingerprint:
        v = np.frombuffer(data, dtype=np.float16)
        return cls(fps, v.reshape(-1, 2 * len(REF_VIEWS), dim) if v.size else v.reshape(0, 2 * len(REF_VIEWS), dim))


def fingerprint(frames: Iterable[Frame], settings: Settings, *, reference: bool = True) -> Fingerprint:
    """The fingerprint of sampled frames; ``reference`` adds the crop and mirrored views (library entries)."""
    views = REF_VIEWS if reference else (1.0,)
    crops: list[np.ndarray] = []
    n = 0
    for frame in frames:
        rgb = trim_borders(frame.rgb)
        for keep in views:
            h, w = rgb.shape[:2]
            ch, cw = int(h * keep), int(w * keep)
            crop = rgb[(h - ch) // 2 : (h - ch) // 2 + ch, (w - cw) // 2 : (w - cw) // 2 + cw]
            crops.append(crop)
            if reference:
                crops.append(crop[:, ::-1])
        n += 1
    per = len(views) * (2 if reference else 1)
    vectors = whiten(raw_descriptors(crops, settings)) if crops else np.zeros((0, DIM), np.float32)
    return Fingerprint(SAMPLE_FPS, vectors.reshape(n, per, DIM).astype(np.float16))


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
    padded = np.pad(sim, ((0, 0), (1, 1)), constant_values=-1.0)
    return np.maximum(np.maximum(padded[:, :-2], padded[:, 1:-1]), padded[:, 2:])


def compare(query: Fingerprint, ref: Fingerprint) -> Match | None:
    """Whether ``query`` copies (part of) ``ref``: the best diagonal's score and its aligned segment, or None.

    The score mixes how alike the aligned frames are (``1 - MOTION_WEIGHT``) with how alike their changes are:
    the same descriptors with each video's mean removed, compared along the same diagonal (``MOTION_WEIGHT``).
    The second term separates two takes in front of the same background (a signer signing different words,
    whose frames are all alike) from a copy, which moves the same way; it is left out for near-still videos."""
    if query.frames == 0 or ref.frames == 0:
        return None
    q = query.vectors[:, 0, :].astype(np.float32)  # the query's full view
    r = ref.vectors.astype(np.float32)
    per_view = np.einsum("id,jvd->ijv", q, r)
    best_view = per_view.argmax(axis=2)
    sim = per_view.max(axis=2)  # (q frames, r frames): best reference view
    moving = min(_spread(q), _spread(r[:, 0, :])) >= SPREAD_MIN
    if moving:
        qc, rc = _unit(q - q.mean(axis=0)), _unit(r - r.mean(axis=0, keepdims=True))
        motion = np.take_along_axis(np.einsum("id,jvd->ijv", qc, rc), best_view[:, :, None], axis=2)[:, :, 0]
    exact, sim = sim, _jitter(sim)
    if moving:
        motion = _jitter(motion)
    nq, nr = sim.shape
    score, best_off, best_key = -1.0, 0, -2.0
    for off in range(-(nq - 1), nr):  # reference frame j = i + off
        diag = np.diagonal(sim, offset=off)
        if diag.size < min(TOP_K, nq, nr):
            continue
        value = float(np.sort(diag)[-min(TOP_K, diag.size) :].mean())
        if moving:
            value = (1 - MOTION_WEIGHT) * value + MOTION_WEIGHT * float(np.diagonal(motion, offset=off).mean())
        key = value + 0.01 * float(np.diagonal(exact, offset=off).mean())  # ties go to the exact alignment
        if key > best_key:
            score, best_off, best_key = value, off, key
    if score < VIDEO_MATCH:
        return None
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


def segment_means(fpr: Fingerprint, views: tuple[int, ...] = (0, 1)) -> np.ndarray:
    """(segments x len(views), DIM) unit means of consecutive ``SEGMENT_S`` windows: the first stage's keys."""
    per = max(1, int(SEGMENT_S * fpr.fps))
    v = fpr.vectors[:, list(views), :].astype(np.float32)
    keys = [v[i : i + per].mean(axis=0) for i in range(0, max(1, fpr.frames - per // 2), per)] or [v.mean(axis=0)]
    return _unit(np.concatenate(keys))


class FingerprintIndex:
    """A library of fingerprints with a cheap first stage: every reference's 5 s segment means (full and mirrored
    view) in one matrix; a query's segment means pick the ``CANDIDATES`` closest references, and only those are
    aligned frame by frame (``compare``). Entries are added, replaced and removed by key; the matrix is rebuilt on
    the first query after a change."""

    def __init__(self) -> None:
        self._prints: dict[str, Fingerprint] = {}
        self._keys: dict[str, np.ndarray] = {}
        self._ids: list[str] = []
        self._matrix: np.ndarray | None = None
        self._owners: np.ndarray | None = None

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

    def _build(self) -> tuple[np.ndarray, np.ndarray]:
        if self._matrix is None or self._owners is None:
            self._ids = list(self._keys)
            keys = [self._keys[k] for k in self._ids]
            self._matrix = np.concatenate(keys).astype(np.float32)
            self._owners = np.concatenate([np.full(len(k), i, np.int32) for i, k in enumerate(keys)])
        return self._matrix, self._owners

    def candidates(self, query: Fingerprint, k: int = CANDIDATES) -> list[str]:
        """The keys of the ``k`` references whose segments come closest to one of the query's."""
        if not self._prints or query.frames == 0:
            return []
        matrix, owners = self._build()
        sims = segment_means(query, (0,)) @ matrix.T  # (query segments, all keys)
        best = np.full(len(self._ids), -1.0, np.float32)
        np.maximum.at(best, owners, sims.max(axis=0))
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
