"""Body reshaping on real photos: the person mask of the output (re-segmented) narrows when slimming and widens
when enlarging; nothing changes without a person or at degree 0."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from medialens.analyses.body_reshape import (
    DEGREE_RANGE,
    STRENGTH_PER_DEGREE,
    BodyFrame,
    displacement_field,
    reshape_body,
)
from medialens.config import Settings
from medialens.models.loader import get_pipeline
from tests.conftest import MEDIA
from tests.support import ensure_models

# Photos where the pose model finds the person and the torso is in the frame (checked by hand): a full figure
# (the cameraman, greyscale, leaning towards his camera) and an upper-body portrait cut at the chest.
PEOPLE = ["skimage_cameraman.png", "face_rose_leslie_a.jpg"]


@pytest.fixture(scope="module")
def settings() -> Settings:
    return Settings(model_dir=ensure_models("mediapipe-pose", "mediapipe-selfie-segmentation"))


def load(name: str) -> Image.Image:
    path = MEDIA / "image" / name
    if not path.is_file():
        pytest.fail(f"test media not found: {path}")
    with Image.open(path) as im:
        im.load()
        return im


def run_width(row: np.ndarray, x: int) -> int:
    """Length of the run of True in ``row`` that contains ``x`` (0 when ``row[x]`` is False)."""
    if not row[x]:
        return 0
    left = np.flatnonzero(~row[:x][::-1])
    right = np.flatnonzero(~row[x:])
    return int((left[0] if left.size else x) + (right[0] if right.size else len(row) - x))


def torso_width(image: Image.Image, body: BodyFrame, settings: Settings) -> float:
    """Mean width of the person mask (segmentation of ``image``) across the body axis, from chest to hips."""
    mask = get_pipeline("mediapipe-selfie-segmentation", settings)(np.asarray(image.convert("RGB"))) > 0.5
    top = body.shoulder[1] + 0.15 * (body.hip[1] - body.shoulder[1])
    bottom = min(body.hip[1], mask.shape[0] - 1)
    assert bottom - top > 50, "the torso should be in the frame"
    widths = []
    for y in np.linspace(top, bottom, 15).round():
        x = round(float(body.axis_x(np.array([y]))[0]))
        if 0 <= x < mask.shape[1]:
            widths.append(run_width(mask[int(y)], x))
    return float(np.mean(widths))


@pytest.mark.parametrize("name", PEOPLE)
def test_slimming_narrows_and_enlarging_widens_the_person(name: str, settings: Settings) -> None:
    image = load(name)
    pose = get_pipeline("mediapipe-pose", settings)(np.asarray(image.convert("RGB")))
    assert pose is not None
    body = BodyFrame.from_landmarks(pose.landmarks)

    widths = {0.0: torso_width(image, body, settings)}
    for degree in (3.0, 1.5, -1.5, -3.0):
        res = reshape_body(image, degree, settings)
        assert res.applied and res.reason is None and res.degree == degree
        assert res.image.size == image.size and res.image.mode == image.mode
        widths[degree] = torso_width(res.image, body, settings)
    rel = {d: w / widths[0.0] - 1 for d, w in widths.items()}
    # measured (degree 3, 1.5, -1.5, -3): cameraman -13 %, -2.5 %, +3 %, +6 %; portrait -12.5 %, -6.5 %, +6 %, +12 %
    assert rel[3.0] < -0.08 and rel[1.5] < -0.015 and rel[3.0] < rel[1.5]
    assert rel[-3.0] > 0.04 and rel[-1.5] > 0.015 and rel[-3.0] > rel[-1.5]


def test_degree_zero_returns_the_same_pixels(settings: Settings) -> None:
    image = load(PEOPLE[1])
    res = reshape_body(image, 0, settings)
    assert not res.applied and res.reason
    assert res.image.size == image.size and np.array_equal(np.asarray(res.image), np.asarray(image))


def test_warp_is_local(settings: Settings) -> None:
    """Background away from the person, and rows far above the shoulders, are bit-identical."""
    image = load(PEOPLE[1])
    src = np.asarray(image)
    out = np.asarray(reshape_body(image, -3, settings).image)
    changed = np.any(out != src, axis=2)
    assert changed.any()
    mask = get_pipeline("mediapipe-selfie-segmentation", settings)(src) > 0.5
    cols = np.flatnonzero(mask.any(axis=0))
    # columns beyond the person's extent plus the confinement band are untouched
    assert not changed[:, : max(0, cols.min() - 250)].any() and not changed[:, cols.max() + 250 :].any()
    assert changed.mean() < 0.5
    assert not changed[:20].any()  # hair at the top of the frame


def test_field_never_folds(settings: Settings) -> None:
    """x + dx is strictly increasing along every row at the extreme degrees, so no pixel order flips."""
    image = load(PEOPLE[0])
    rgb = np.asarray(image.convert("RGB"))
    body = BodyFrame.from_landmarks(get_pipeline("mediapipe-pose", settings)(rgb).landmarks)
    mask = get_pipeline("mediapipe-selfie-segmentation", settings)(rgb)
    for degree in DEGREE_RANGE:
        r0, r1, dx = displacement_field(rgb.shape[:2], body, mask, STRENGTH_PER_DEGREE * degree)
        assert r1 > r0 and dx.shape == (r1 - r0, rgb.shape[1])
        xs = np.arange(rgb.shape[1])[None, :] + dx
        assert (np.diff(xs, axis=1) > 0.3).all()
        assert np.abs(dx).max() > 5  # and it does move something


@pytest.mark.parametrize("name", ["skimage_moon.png", "skimage_coins.png"])
def test_no_person_leaves_the_image_unchanged(name: str, settings: Settings) -> None:
    image = load(name)
    res = reshape_body(image, 2.0, settings)
    assert not res.applied and res.reason == "no person found"
    assert res.image.size == image.size and np.array_equal(np.asarray(res.image), np.asarray(image))


def test_degree_is_clamped_and_modes_kept(settings: Settings) -> None:
    image = load(PEOPLE[0]).convert("RGBA")  # greyscale photo with an alpha channel
    res = reshape_body(image, 10, settings)
    assert res.applied and res.degree == DEGREE_RANGE[1] and res.image.mode == "RGBA"
    assert (np.asarray(res.image)[..., 3] == 255).all()
    assert reshape_body(image, -10, settings).degree == DEGREE_RANGE[0]
    with pytest.raises(ValueError):
        reshape_body(image, float("nan"), settings)
