"""AI-selected cover images of a video (VOD AIImage): every sampled frame scored for sharpness (variance of the
Laplacian), exposure and contrast, with a bonus for faces; black, blown-out and flat frames and frames in a
transition (a blend between two shots: unlike both neighbours and blurred) are never chosen; the best frames at
least ``MIN_GAP_S`` apart are kept. Scores run from 0 to 12 (10 for the image itself, 2 for a face)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from medialens.config import Settings
from medialens.media.types import Frame
from medialens.models.loader import get_pipeline
from medialens.models.pipelines.faces import FaceRequest

MIN_GAP_S = 2.0
FACE_CHECKED = 24


@dataclass(frozen=True)
class Cover:
    t: float
    score: float
    rgb: np.ndarray


def _quality(rgb: np.ndarray) -> tuple[float, float, float, float]:
    """(score 0-10, mean luma, luma std, sharpness 0-1)."""
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    mean, std = float(gray.mean()), float(gray.std())
    sharp = min(1.0, float(np.log1p(cv2.Laplacian(gray, cv2.CV_64F).var()) / np.log1p(1500.0)))
    exposure = max(0.0, 1.0 - abs(mean - 120.0) / 120.0)
    contrast = min(1.0, std / 60.0)
    return 10.0 * (0.5 * sharp + 0.25 * exposure + 0.25 * contrast), mean, std, sharp


def _small(rgb: np.ndarray) -> np.ndarray:
    return cv2.resize(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), (64, 36)).astype(np.float32)


def choose_covers(frames: Sequence[Frame], settings: Settings, count: int = 5) -> list[Cover]:
    if not frames:
        return []
    scored = []
    smalls = [_small(f.rgb) for f in frames]
    for i, frame in enumerate(frames):
        score, mean, std, sharp = _quality(frame.rgb)
        if mean < 25 or mean > 235 or std < 12:  # black, white or flat
            continue
        if 0 < i < len(frames) - 1:
            before = float(np.abs(smalls[i] - smalls[i - 1]).mean())
            after = float(np.abs(smalls[i] - smalls[i + 1]).mean())
            if before > 30 and after > 30 and sharp < 0.5:  # mid-transition
                continue
        scored.append([score, i])
    scored.sort(reverse=True)
    detector = get_pipeline("dlib-face", settings)
    for entry in scored[:FACE_CHECKED]:
        if detector.run_batch([FaceRequest(frames[entry[1]].rgb, embed=False)])[0]:
            entry[0] += 2.0
    scored.sort(reverse=True)
    chosen: list[Cover] = []
    for score, i in scored:
        if all(abs(frames[i].t - c.t) >= MIN_GAP_S for c in chosen):
            chosen.append(Cover(frames[i].t, round(score, 4), frames[i].rgb))
        if len(chosen) == count:
            break
    return chosen
