"""ImageQA: score mapping, result shape, and clean > degraded on real photos."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from medialens.analyses.image_quality import (
    NIQE_MIDPOINT,
    WORKING_LONG_SIDE,
    ImageQualityResult,
    assess_image,
    fit_working_size,
    niqe_to_quality,
)
from medialens.analyses.niqe import NiqeModel

from .conftest import add_noise, blur, jpeg, load_image

PHOTOS = [
    "skimage_cat_chelsea.png",
    "skimage_cameraman.png",
    "face_rose_leslie_a.jpg",
    "face_alex_lacamoire_a.jpg",
    "face_kit_harington_a.jpeg",
]


def test_mapping_is_monotone_and_bounded() -> None:
    values = [niqe_to_quality(x) for x in np.linspace(0, 60, 121)]
    assert all(a > b or b == 0.0 for a, b in itertools.pairwise(values))
    assert min(values) >= 0.0 and max(values) <= 100.0
    assert niqe_to_quality(NIQE_MIDPOINT) == pytest.approx(50.0)
    assert niqe_to_quality(float("inf")) == 0.0
    assert niqe_to_quality(float("nan")) == 0.0
    assert niqe_to_quality(1e6) == 0.0


def test_result_reports_original_size_and_two_decimals(niqe_model: NiqeModel, media_dir: Path) -> None:
    image = load_image(media_dir, "skimage_cat_chelsea.png")
    result = assess_image(image, niqe_model)
    assert isinstance(result, ImageQualityResult)
    assert (result.width, result.height) == image.size
    assert 0.0 <= result.score <= 100.0
    assert result.score == round(result.score, 2)


@pytest.mark.parametrize("name", PHOTOS)
def test_clean_beats_blurred_noisy_and_jpeg_crushed(niqe_model: NiqeModel, media_dir: Path, name: str) -> None:
    image = load_image(media_dir, name)
    rgb = np.asarray(image)
    clean = assess_image(image, niqe_model).score
    degraded = {
        "blur2": Image.fromarray(blur(rgb, 2.0)),
        "noise25": Image.fromarray(add_noise(rgb, 25.0)),
        "jpeg5": jpeg(image, 5),
    }
    for label, img in degraded.items():
        score = assess_image(img, niqe_model).score
        assert clean > score, f"{name}: clean {clean} <= {label} {score}"


def test_grey_and_rgba_inputs(niqe_model: NiqeModel, media_dir: Path) -> None:
    image = load_image(media_dir, "skimage_cameraman.png")
    rgb_score = assess_image(image, niqe_model).score
    assert assess_image(image.convert("L"), niqe_model).score == pytest.approx(rgb_score, abs=0.5)
    assert assess_image(image.convert("RGBA"), niqe_model).score == pytest.approx(rgb_score, abs=0.01)


def test_small_image_gets_a_score(niqe_model: NiqeModel, media_dir: Path) -> None:
    image = load_image(media_dir, "skimage_cat_chelsea.png").resize((120, 80))
    result = assess_image(image, niqe_model)
    assert 0.0 <= result.score <= 100.0
    assert (result.width, result.height) == (120, 80)


def test_solid_colour_scores_zero(niqe_model: NiqeModel) -> None:
    assert assess_image(Image.new("RGB", (320, 240), (40, 90, 200)), niqe_model).score == 0.0


def test_large_image_is_downscaled(niqe_model: NiqeModel, media_dir: Path) -> None:
    """A 12-megapixel image is scored at the working size (speed is bench/'s business, not a timed test)."""
    image = load_image(media_dir, "skimage_golden_eagle.png").resize((4000, 3000), Image.Resampling.LANCZOS)
    assert max(fit_working_size(np.zeros((3000, 4000), np.float32), WORKING_LONG_SIDE).shape) == 2048
    result = assess_image(image, niqe_model)
    assert (result.width, result.height) == (4000, 3000)
    assert 0.0 < result.score <= 100.0
