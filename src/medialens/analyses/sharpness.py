"""Perceptual blur (Crete, Dolmiere, Ladret, Nicolas 2007, "The blur effect"): a published no-reference metric.

It compares the intensity variation between neighbouring pixels before and after a strong 1-D re-blur: a sharp
image loses much of its variation when re-blurred, an already blurred one loses little. 0 means sharp, 1 fully
blurred. We measured clean photos and video frames at 0.2-0.41 and the same after a Gaussian blur of sigma 2 at
0.63-0.73 (../shared/media), while noise pushes it down (noise looks "sharp"; NIQE catches noise instead).

NIQE alone under-reads blur on small frames (a 426x240 frame has only 8 NIQE patches; a blurred and re-encoded
copy even scored better than the original because blur hid its compression blocking), so quality scores are
NIQE's score gated by ``sharpness_factor``.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

REBLUR_TAPS = 9  # the paper's strong low-pass: a 9-tap average
BLUR_MIDPOINT = 0.5  # halfway between measured sharp (<= 0.41) and blurred (>= 0.63) content
BLUR_SLOPE = 0.05


def blur_metric(gray: np.ndarray) -> float | None:
    """Crete blur in 0-1 (max of the vertical and horizontal estimates, as in the paper).

    None for a flat image (a black frame, a fade): it has no detail to judge, so it is no evidence of blur.
    """
    img = np.ascontiguousarray(gray, dtype=np.float32)
    if min(img.shape) < 2:
        return None
    estimates = []
    for axis in (0, 1):
        # a 1-D box along ``axis``, mirrored at the edges (scipy's uniform_filter1d, at less than half its cost)
        taps = (1, REBLUR_TAPS) if axis == 0 else (REBLUR_TAPS, 1)
        reblurred = cv2.blur(img, taps, borderType=cv2.BORDER_REFLECT)
        d_orig = np.abs(np.diff(img, axis=axis))
        d_reblur = np.abs(np.diff(reblurred, axis=axis))
        total = float(d_orig.sum())
        if total <= 0:
            return None
        lost = float(np.maximum(0.0, d_orig - d_reblur).sum())
        estimates.append((total - lost) / total)
    return max(estimates)


def sharpness_factor(blur: float | None) -> float:
    """Map blur to a 0-1 multiplier: ~1 for sharp content, falling steeply past the midpoint."""
    if blur is None:
        return 1.0
    z = (blur - BLUR_MIDPOINT) / BLUR_SLOPE
    return 0.0 if z > 700 else 1.0 / (1.0 + math.exp(z))
