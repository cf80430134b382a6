"""The Crete blur metric: monotone in blur, indifferent to flat frames."""

from __future__ import annotations

import itertools

import cv2
import numpy as np
from PIL import Image

from medialens.analyses.sharpness import blur_metric, sharpness_factor
from tests.conftest import MEDIA


def _gray(name: str) -> np.ndarray:
    return np.asarray(Image.open(MEDIA / "image" / name).convert("L"), dtype=np.float32)


def test_blur_metric_rises_with_blur_on_real_photos() -> None:
    for name in ("skimage_cat_chelsea.png", "skimage_motorcycle.png", "face_rose_leslie_a.jpg"):
        gray = _gray(name)
        values = [blur_metric(cv2.GaussianBlur(gray, (0, 0), s) if s else gray) for s in (0, 1, 2, 4)]
        assert values == sorted(values), (name, values)
        assert values[0] < 0.45 < 0.6 < values[2], (name, values)


def test_flat_images_give_no_evidence() -> None:
    assert blur_metric(np.zeros((64, 64))) is None
    assert blur_metric(np.ones((1, 50))) is None
    assert sharpness_factor(None) == 1.0


def test_factor_is_monotone_and_bounded() -> None:
    values = [sharpness_factor(b) for b in np.linspace(0, 1, 21)]
    assert all(a >= b for a, b in itertools.pairwise(values))
    assert values[0] > 0.99 and values[-1] < 0.01
