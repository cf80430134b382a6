"""VideoQA: per-frame NIQE quality aggregated over sampled frames, plus a frame-to-frame similarity.

``score`` is NIQE over the patch population of all sampled frames (one multivariate Gaussian fitted to
the patch features of every frame, accumulated as running sums), mapped to 0-100 with the ImageQA logistic.
Frames are <= 512 px, i.e. only 8-15 patches each: too few to fit a 36-dimensional covariance, so
per-frame NIQE was noisy (mean per-frame score rose with blur on 3 of 6 reference videos), while pooled
NIQE fell monotonically with blur and noise on 4 of them (the other two are heavily compressed: blur hides
blocking). Structure-less patches (black bars, fades) carry no features and drop out by themselves.
There is no temporal-stability term: frames arrive sampled at ~2 fps, where the change between samples is
mostly legitimate motion, not flicker or stutter, so penalising it would punish action footage.
The pooled NIQE score is gated by the mean Crete blur of the frames (``sharpness.py``), since NIQE on
small frames under-reads blur.

``static_similarity`` is the median SSIM between consecutive sampled frames (grey, resized to 128x128). A
slideshow of stills gives ~1 (only the few cuts between stills differ and the median ignores them);
real motion gives clearly lower values. The PAI text calls it a "frame-to-frame similarity (0-1)"; we keep
that reading (high = static).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field

import cv2
import numpy as np

from medialens.analyses.cv_threads import opencv_single_threaded
from medialens.analyses.image_quality import niqe_to_quality, rgb_to_gray
from medialens.analyses.niqe import N_FEATURES, NiqeModel, niqe_features
from medialens.analyses.sharpness import blur_metric, sharpness_factor
from medialens.media.errors import DecodeError
from medialens.media.types import Frame, VideoInfo

SIMILARITY_SIZE = (128, 128)
"""Frames are compared at this size: enough for structure, cheap, and immune to odd frame sizes."""
_SSIM_C1 = (0.01 * 255) ** 2
_SSIM_C2 = (0.03 * 255) ** 2


@dataclass(frozen=True)
class VideoQualityResult:
    """Quality of a video: ``score`` 0-100, the stream's mean frame rate, duration, and how static it is (0-1)."""

    score: float
    fps: int
    duration_s: float
    static_similarity: float
    height: int
    width: int


@dataclass
class _Accumulator:
    """Running state: O(1) frames (the previous small grey frame) plus running feature moments."""

    n_frames: int = 0
    n_patches: int = 0
    feat_sum: np.ndarray = field(default_factory=lambda: np.zeros(N_FEATURES))
    outer_sum: np.ndarray = field(default_factory=lambda: np.zeros((N_FEATURES, N_FEATURES)))
    similarities: list[float] = field(default_factory=list)
    blur_sum: float = 0.0
    blur_frames: int = 0
    prev_small: np.ndarray | None = None

    def add(self, frame: Frame) -> None:
        gray = rgb_to_gray(frame.rgb)
        self.n_frames += 1
        blur = blur_metric(gray)
        if blur is not None:
            self.blur_sum += blur
            self.blur_frames += 1
        feats = niqe_features(gray).astype(np.float64)
        self.n_patches += len(feats)
        self.feat_sum += feats.sum(axis=0)
        self.outer_sum += feats.T @ feats
        small = cv2.resize(gray, SIMILARITY_SIZE, interpolation=cv2.INTER_AREA).astype(np.float64)
        if self.prev_small is not None:
            self.similarities.append(ssim(self.prev_small, small))
        self.prev_small = small

    def mean_blur(self) -> float | None:
        return self.blur_sum / self.blur_frames if self.blur_frames else None

    def niqe(self, model: NiqeModel) -> float:
        """NIQE of the pooled patch MVG (sample covariance with n - 1, as np.cov); inf without patches."""
        n = self.n_patches
        if n == 0:
            return math.inf
        mean = self.feat_sum / n
        cov = (self.outer_sum - n * np.outer(mean, mean)) / (n - 1) if n > 1 else np.zeros_like(model.cov)
        return model.distance_mvg(mean, cov)


def assess_video(info: VideoInfo, frames: Iterable[Frame], model: NiqeModel) -> VideoQualityResult:
    """Consume ``frames`` once (sampled, <= 512 px) and score them; sizes and timing come from ``info``."""
    acc = _Accumulator()
    with opencv_single_threaded():  # the decoder's threads hold the other cores (cv_threads.py)
        for frame in frames:
            acc.add(frame)
    if acc.n_frames == 0:
        raise DecodeError("the video has no decodable frames")
    return VideoQualityResult(
        score=niqe_to_quality(acc.niqe(model)) * sharpness_factor(acc.mean_blur()),
        fps=round(info.fps),
        duration_s=info.duration_s,
        # One frame has nothing to differ from: as static as it gets.
        static_similarity=statistics.median(acc.similarities) if acc.similarities else 1.0,
        height=info.height,
        width=info.width,
    )


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM (Wang et al. 2004, Gaussian window sigma 1.5) of two same-size grey images, in 0-1."""
    blur = lambda x: cv2.GaussianBlur(x, (11, 11), 1.5)  # noqa: E731
    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a * mu_a
    var_b = blur(b * b) - mu_b * mu_b
    cov = blur(a * b) - mu_a * mu_b
    num = (2 * mu_a * mu_b + _SSIM_C1) * (2 * cov + _SSIM_C2)
    den = (mu_a**2 + mu_b**2 + _SSIM_C1) * (var_a + var_b + _SSIM_C2)
    return float(np.clip((num / den).mean(), 0.0, 1.0))
