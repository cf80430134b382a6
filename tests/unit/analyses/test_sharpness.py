"""The Crete blur metric: monotone in blur, indifferent to flat frames."""

from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest
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


def _crete_reference(gray: np.ndarray) -> float:
    """The metric as the paper writes it, with scipy's mirrored 9-tap average (what OpenCV's box now stands in for)."""
    from scipy.ndimage import uniform_filter1d

    img = np.asarray(gray, dtype=np.float32)
    estimates = []
    for axis in (0, 1):
        d_orig = np.abs(np.diff(img, axis=axis))
        d_reblur = np.abs(np.diff(uniform_filter1d(img, 9, axis=axis), axis=axis))
        total = float(d_orig.sum())
        estimates.append((total - float(np.maximum(0.0, d_orig - d_reblur).sum())) / total)
    return max(estimates)


def test_blur_metric_is_the_mirrored_box_of_the_paper_on_any_shape() -> None:
    rng = np.random.default_rng(7)
    photo = _gray("skimage_motorcycle.png")
    for gray in (photo, photo[1::3, 2::5], rng.uniform(0, 255, (2, 3)), rng.uniform(0, 255, (5, 17)), photo[:7, :300]):
        assert blur_metric(gray) == pytest.approx(_crete_reference(gray), abs=1e-6), gray.shape
