"""NIQE features and distance: layout, edge cases, and agreement with scikit-video's feature code."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest
import scipy.io

from medialens.analyses.image_quality import rgb_to_gray
from medialens.analyses.niqe import N_FEATURES, NiqeModel, choose_patch_size, niqe_features

from .conftest import load_image


def _textured(h: int, w: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return cv2.GaussianBlur(rng.uniform(0, 255, (h, w)), (0, 0), 1.0)


def test_from_mat_loads_36_dim_mvg(niqe_model: NiqeModel) -> None:
    assert niqe_model.mu.shape == (N_FEATURES,)
    assert niqe_model.cov.shape == (N_FEATURES, N_FEATURES)
    # The shipped model stores (bl, bl) for the diagonal pair products; our features must follow it.
    assert niqe_model.mu[12] == niqe_model.mu[13]
    assert niqe_model.mu[16] == niqe_model.mu[17]


def test_from_mat_rejects_wrong_shapes(tmp_path: Path) -> None:
    path = tmp_path / "bad.mat"
    scipy.io.savemat(path, {"pop_mu": np.zeros((1, 18)), "pop_cov": np.eye(18)})
    with pytest.raises(ValueError, match="shapes"):
        NiqeModel.from_mat(path)


def test_features_one_row_per_96px_patch() -> None:
    feats = niqe_features(_textured(300, 451))
    assert feats.shape == (3 * 4, N_FEATURES)
    assert np.isfinite(feats).all()
    np.testing.assert_array_equal(feats[:, 12], feats[:, 13])
    np.testing.assert_array_equal(feats[:, 34], feats[:, 35])


SIZES = [(512, 512, 96), (191, 400, 94), (100, 150, 50), (70, 70, 34)]


@pytest.mark.parametrize(("h", "w", "expected"), SIZES)
def test_patch_size_shrinks_for_small_images(h: int, w: int, expected: int) -> None:
    assert choose_patch_size(h, w) == expected


@pytest.mark.parametrize("shape", [(100, 150), (40, 30), (10, 10)])
def test_small_images_still_get_features(shape: tuple[int, int]) -> None:
    feats = niqe_features(_textured(*shape))
    assert len(feats) >= 4
    assert np.isfinite(feats).all()


def test_flat_image_has_no_features_and_infinite_niqe(niqe_model: NiqeModel) -> None:
    flat = np.full((300, 300), 128.0)
    assert niqe_features(flat).shape == (0, N_FEATURES)
    assert math.isinf(niqe_model.score(flat))


def test_flat_letterbox_does_not_change_the_picture_score(niqe_model: NiqeModel, media_dir: Path) -> None:
    gray = rgb_to_gray(np.asarray(load_image(media_dir, "skimage_cameraman.png")))
    boxed = np.vstack([np.zeros((96, 512), np.float32), gray, np.zeros((96, 512), np.float32)])
    assert niqe_model.score(boxed) == pytest.approx(niqe_model.score(gray), rel=0.15)


def test_matches_scikit_video_reference_values(niqe_model: NiqeModel, media_dir: Path) -> None:
    """Reference NIQE computed with scikit-video 1.1.11's own loop code (skvideo.utils mscn/stats and
    measure.niqe's patching), with its removed scipy.misc.imresize replaced by PIL bicubic in mode F,
    on grey = 0.299 R + 0.587 G + 0.114 B."""
    for name, expected in [("skimage_cameraman.png", 9.0707), ("skimage_cat_chelsea.png", 11.6985)]:
        rgb = np.asarray(load_image(media_dir, name), np.float64)
        gray = rgb @ np.array([0.299, 0.587, 0.114])
        assert niqe_model.score(gray) == pytest.approx(expected, abs=0.02), name


@pytest.mark.parametrize("name", ["skimage_cameraman.png", "face_alex_lacamoire_a.jpg"])
def test_niqe_grows_with_blur_sigma(niqe_model: NiqeModel, media_dir: Path, name: str) -> None:
    gray = rgb_to_gray(np.asarray(load_image(media_dir, name)))
    scores = [niqe_model.score(gray if s == 0 else cv2.GaussianBlur(gray, (0, 0), s)) for s in (0, 1, 2, 3)]
    assert scores == sorted(scores), scores
    assert scores[0] < 12 < scores[-1]
