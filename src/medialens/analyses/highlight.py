"""Video highlight (Model Hub ``video_highlight``): the best five seconds of a video, as a clip of their own.

Every second of the video gets a score from what makes a moment worth watching, each feature scaled over the video
itself (5th to 95th percentile -> 0-1, so a quiet film still has its liveliest moment):

* motion: mean absolute change of a small grey copy between samples half a second apart (cuts excluded);
* faces: whether the default face detector (MediaPipe full range with the face-mesh presence check) finds a face
  in the second's first sample (people draw the eye), on a copy at most ``FACE_SIDE`` wide;
* sharpness: 1 - Crete blur (``sharpness.py``), so blurred and flat (black) seconds lose;
* audio energy: RMS level in dB of the second's sound (none: the feature is left out);
* shot changes: a cut is a large jump of the HSV colour histogram (Bhattacharyya distance > ``CUT_DISTANCE``)
  between samples. A window that opens on a cut gets ``CUT_START_BONUS``, each cut inside costs
  ``CUT_INSIDE_COST``: a clip that starts with its shot and stays in it plays as one moment, not a montage.

The window (``WINDOW_S``) with the best mean second score wins, starts on whole seconds; ties go to the earliest.
The clip is re-encoded with PyAV (H.264 + AAC in MP4) from the seek point before the window, so it lasts the
window to the frame whatever the source's keyframe spacing (a keyframe cut would stretch to the next GOP); frames
are chosen by source time and written at the source's constant rate (some files' timestamps run backwards).
preprocess (sampled frames, audio) -> compute (features, scores, window) -> postprocess (the clip).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from medialens.analyses.sharpness import blur_metric
from medialens.media.errors import DecodeError
from medialens.media.reencode import reencode_window
from medialens.media.types import Frame

WINDOW_S = 5.0
SAMPLE_FPS = 2.0
FACE_SIDE = 640
CUT_DISTANCE = 0.5
CUT_START_BONUS = 0.1
CUT_INSIDE_COST = 0.05
WEIGHTS = {"motion": 0.35, "faces": 0.2, "sharpness": 0.2, "audio": 0.25}
METHOD = (
    "per-second motion, MediaPipe full-range faces, Crete sharpness, audio RMS and HSV-histogram shot changes; "
    "best 5-s window, re-encoded with PyAV (H.264/AAC)"
)
_SMALL = (64, 36)


@dataclass(frozen=True)
class SecondFeatures:
    """Raw features per whole second of the analysed span (index = second)."""

    motion: np.ndarray
    faces: np.ndarray
    sharpness: np.ndarray
    audio: np.ndarray | None
    cuts: np.ndarray


@dataclass(frozen=True)
class Highlight:
    start_s: float
    duration_s: float
    scores: list[float]
    """Each second's score (0-1)."""
    window_score: float


# --- preprocess ------------------------------------------------------------------------------------------------------
def _hist(rgb: np.ndarray) -> np.ndarray:
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
    h = cv2.calcHist([hsv], [0, 1, 2], None, [12, 4, 4], [0, 180, 0, 256, 0, 256])
    return cv2.normalize(h, h).flatten()


def _face_frame(rgb: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    scale = FACE_SIDE / max(h, w)
    if scale >= 1:
        return rgb
    return cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)


def second_features(
    frames: Iterable[Frame], span_s: float, count_faces: Callable[[np.ndarray], int], audio_db: np.ndarray | None
) -> SecondFeatures:
    """Consume sampled frames (any rate; ``SAMPLE_FPS`` is what the task asks) up to ``span_s`` seconds."""
    n = max(1, int(np.ceil(span_s)))
    motion_sum, motion_n = np.zeros(n), np.zeros(n)
    sharp_sum, sharp_n = np.zeros(n), np.zeros(n)
    faces = np.zeros(n)
    face_checked = np.zeros(n, bool)
    cuts = np.zeros(n)
    prev_small = prev_hist = None
    for frame in frames:
        if frame.t >= span_s:
            break
        s = min(n - 1, int(frame.t))
        gray = cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2GRAY)
        small = cv2.resize(gray, _SMALL, interpolation=cv2.INTER_AREA).astype(np.float32)
        hist = _hist(frame.rgb)
        if prev_small is not None:
            if cv2.compareHist(prev_hist, hist, cv2.HISTCMP_BHATTACHARYYA) > CUT_DISTANCE:
                cuts[s] = 1.0
            else:
                motion_sum[s] += float(np.abs(small - prev_small).mean())
                motion_n[s] += 1
        prev_small, prev_hist = small, hist
        blur = blur_metric(gray)
        sharp_sum[s] += 0.0 if blur is None else 1.0 - blur
        sharp_n[s] += 1
        if not face_checked[s]:
            face_checked[s] = True
            faces[s] = 1.0 if count_faces(_face_frame(frame.rgb)) > 0 else 0.0
    if not sharp_n.any():
        raise DecodeError("video could not be decoded: no frame in the span to analyse")
    motion = np.divide(motion_sum, motion_n, out=np.zeros(n), where=motion_n > 0)
    sharpness = np.divide(sharp_sum, sharp_n, out=np.zeros(n), where=sharp_n > 0)
    audio = None if audio_db is None else np.resize(audio_db, n) if audio_db.size else None
    return SecondFeatures(motion, faces, sharpness, audio, cuts)


def audio_levels(samples: np.ndarray, sample_rate: int, span_s: float) -> np.ndarray:
    """RMS level in dB (floor -90) of each whole second of ``samples``."""
    n = max(1, int(np.ceil(span_s)))
    out = np.full(n, -90.0)
    for s in range(n):
        chunk = samples[s * sample_rate : (s + 1) * sample_rate]
        if chunk.size:
            rms = float(np.sqrt(np.mean(np.square(chunk, dtype=np.float64))))
            out[s] = max(-90.0, 20.0 * np.log10(rms + 1e-12))
    return out


# --- compute ---------------------------------------------------------------------------------------------------------
def _scaled(values: np.ndarray) -> np.ndarray:
    """5th-95th percentile of the video -> 0-1; a flat feature says nothing (0.5 everywhere)."""
    lo, hi = np.percentile(values, [5, 95])
    if hi - lo < 1e-9:
        return np.full(values.shape, 0.5)
    return np.clip((values - lo) / (hi - lo), 0.0, 1.0)


def second_scores(f: SecondFeatures) -> np.ndarray:
    parts = {"motion": _scaled(f.motion), "faces": f.faces, "sharpness": _scaled(f.sharpness)}
    if f.audio is not None:
        parts["audio"] = _scaled(f.audio)
    total = sum(WEIGHTS[k] for k in parts)
    return sum(WEIGHTS[k] * v for k, v in parts.items()) / total


def best_window(scores: np.ndarray, cuts: np.ndarray, span_s: float, window_s: float = WINDOW_S) -> Highlight:
    """The best ``window_s`` window on whole seconds (the whole span when it is shorter)."""
    if span_s <= window_s:
        return Highlight(0.0, span_s, [round(float(x), 4) for x in scores], float(scores.mean()))
    width = int(np.ceil(window_s))
    best, best_start = -np.inf, 0
    for start in range(0, int(np.floor(span_s - window_s)) + 1):
        value = float(scores[start : start + width].mean())
        value += CUT_START_BONUS * cuts[start] - CUT_INSIDE_COST * float(cuts[start + 1 : start + width].sum())
        if value > best + 1e-9:
            best, best_start = value, start
    return Highlight(float(best_start), window_s, [round(float(x), 4) for x in scores], best)


def choose(
    frames: Iterable[Frame], span_s: float, count_faces: Callable[[np.ndarray], int], audio_db: np.ndarray | None
) -> Highlight:
    features = second_features(frames, span_s, count_faces, audio_db)
    return best_window(second_scores(features), features.cuts, span_s)


# --- postprocess -----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Clip:
    path: Path
    duration_s: float
    width: int
    height: int
    frames: int
    has_audio: bool


def cut_clip(src: Path, dest: Path, start_s: float, duration_s: float, threads: int = 0) -> Clip:
    """Re-encode ``[start_s, start_s + duration_s)`` of ``src`` to an MP4 at ``dest`` (H.264, AAC when the source
    has sound): exact to the frame, whatever the source's keyframes."""
    done = reencode_window(
        src, dest, start_s, start_s + duration_s, threads=threads, nothing="no frame in the highlight window"
    )
    return Clip(dest, done.duration_s, done.width, done.height, done.frames, done.has_audio)
