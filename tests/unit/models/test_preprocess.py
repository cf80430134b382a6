"""Model input preprocessing by table lookup gives exactly the arithmetic it replaces (no model needed)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from medialens.models.imaging import letterbox
from medialens.models.pipelines import detection, imagenet


@pytest.fixture(scope="module")
def rgb() -> np.ndarray:
    return np.random.default_rng(7).integers(0, 256, (288, 512, 3), np.uint8)  # every level, a 16:9 video frame


def test_nanodet_input_is_normalised_bgr(rgb: np.ndarray) -> None:
    x, geo = detection.preprocess_nanodet(rgb)
    boxed, expected_geo = letterbox(rgb, detection.INPUT_SIZE, detection.PAD_VALUE)
    expected = ((boxed[:, :, ::-1].astype(np.float32) - detection.MEAN_BGR) / detection.STD_BGR).transpose(2, 0, 1)
    assert x.dtype == np.float32 and x.flags.c_contiguous and geo == expected_geo
    np.testing.assert_array_equal(x, expected)


def test_imagenet_input_is_normalised_rgb(rgb: np.ndarray) -> None:
    image = Image.fromarray(rgb)
    x = imagenet.preprocess_image(image)
    w, h = image.size
    scale = imagenet.RESIZE / min(w, h)
    nw, nh = round(w * scale), round(h * scale)
    left, top = (nw - imagenet.CROP) // 2, (nh - imagenet.CROP) // 2
    crop = image.resize((nw, nh), Image.Resampling.BILINEAR).crop((left, top, left + 224, top + 224))
    expected = ((np.asarray(crop, np.float32) / 255.0 - imagenet.MEAN) / imagenet.STD).transpose(2, 0, 1)
    assert x.shape == (3, 224, 224) and x.dtype == np.float32 and x.flags.c_contiguous
    np.testing.assert_array_equal(x, expected)
