"""ImageQA: a 0-100 quality score (higher = better) from NIQE (see ``niqe.py``).

NIQE is a distance (lower = better) with no fixed upper bound, so it is mapped through a decreasing
logistic ``100 / (1 + exp((niqe - NIQE_MIDPOINT) / NIQE_SLOPE))``. The constants come from measuring the
shipped pristine model on the reference photos in the project's shared test media (full resolution):

* clean photos give NIQE 6-14 (mean ~10.6; this model is fitted on the sharpest BSDS500 patches only, so
  ordinary photos sit further from it than with the MATLAB model, whose pristine photos give ~3-5);
* Gaussian blur sigma 2-4, noise sigma 25 and JPEG quality 5 give 12-26 (means 15-17).

The midpoint 13 sits between the clean and degraded means (score 50), and the slope 2.5 spreads that
working range over most of the scale: NIQE 6 -> 94, 9 -> 83, 11 -> 69, 13 -> 50, 16 -> 23, 20 -> 5.5.
Below 0.01 (NIQE > ~36) scores round to 0.

The NIQE score is then gated by the Crete blur metric (``sharpness.py``), which NIQE under-reads on small
images.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from medialens.analyses.niqe import NiqeModel
from medialens.analyses.sharpness import blur_metric, sharpness_factor

NIQE_MIDPOINT = 13.0
NIQE_SLOPE = 2.5
WORKING_LONG_SIDE = 2048
"""Larger images are downscaled (area filter) to this long side before NIQE: keeps a 12 MP photo at
~0.2 s. Not lower: downscaling averages noise and blur away and the model was fitted at ~480x320, so
strong downscaling (e.g. to 512) made degraded copies score as well as clean ones in our measurements."""
_LUMA = np.array([0.2989, 0.5870, 0.1140])
"""The grey conversion the pristine model was trained with (MATLAB rgb2gray weights)."""


@dataclass(frozen=True)
class ImageQualityResult:
    """ImageQA answer: the original image size and the 0-100 score (two decimals)."""

    width: int
    height: int
    score: float


def assess_image(image: Image.Image, model: NiqeModel) -> ImageQualityResult:
    """Score one image; the size reported is the original's, before any working downscale."""
    gray = rgb_to_gray(np.asarray(image.convert("RGB")))
    gray = fit_working_size(gray, WORKING_LONG_SIDE)
    score = niqe_to_quality(model.score(gray)) * sharpness_factor(blur_metric(gray))
    return ImageQualityResult(width=image.width, height=image.height, score=round(score, 2))


def niqe_to_quality(niqe: float) -> float:
    """Monotone decreasing map of NIQE onto 0-100 (see module doc for the constants); inf/nan -> 0."""
    if not math.isfinite(niqe):
        return 0.0
    z = (niqe - NIQE_MIDPOINT) / NIQE_SLOPE
    if z > 700:  # exp overflow: the score is 0 to any precision
        return 0.0
    return 100.0 / (1.0 + math.exp(z))


def rgb_to_gray(rgb: np.ndarray) -> np.ndarray:
    """Float grey image on the 0-255 scale (no uint8 rounding, which would flatten smooth areas)."""
    return np.asarray(rgb, dtype=np.float32) @ _LUMA.astype(np.float32)


def fit_working_size(gray: np.ndarray, long_side: int) -> np.ndarray:
    """Downscale with area averaging so the long side is at most ``long_side``; never upscale."""
    h, w = gray.shape
    if max(h, w) <= long_side:
        return gray
    f = long_side / max(h, w)
    size = (max(1, round(w * f)), max(1, round(h * f)))
    return cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
