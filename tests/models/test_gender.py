"""Gender from the age-gender model against the identities in labels.json (the other face and person model checks
live in test_faces.py, test_age_gender.py, test_emotion.py and test_mediapipe.py)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from medialens.config import Settings
from medialens.models.loader import get_pipeline
from tests.conftest import FACE_FILES, LABELS, MEDIA
from tests.support import ensure_models

SINGLE = [f for f in FACE_FILES if LABELS[f]["truth"].get("faces") == 1]
FEMALE = {"rose_leslie"}  # the identities in labels.json: Rose Leslie; Kit Harington and Alex Lacamoire are men
MODELS = ("dlib-face", "age-gender", "fer-emotion", "mediapipe-face-detection", "mediapipe-face-landmark",
          "mediapipe-selfie-segmentation", "mediapipe-pose")  # fmt: skip


@pytest.fixture(scope="module")
def settings() -> Settings:
    return Settings(model_dir=ensure_models(*MODELS))


def rgb(name: str) -> np.ndarray:
    return np.asarray(Image.open(MEDIA / name).convert("RGB"))


def test_gender_and_adult_age(settings: Settings) -> None:
    from medialens.models.pipelines.age_gender import AgeGenderRequest

    faces, ages = get_pipeline("dlib-face", settings), get_pipeline("age-gender", settings)
    for name in SINGLE:
        image = rgb(name)
        (result,) = ages(AgeGenderRequest(image, faces(image)))
        person = LABELS[name]["truth"]["persons"][0]
        assert result.gender == ("female" if person in FEMALE else "male"), name
        assert 18 <= result.age <= 70, (name, result.age)
        assert abs(result.age_distribution.sum() - 1) < 1e-3
