"""Age range of the main face: the 81-class distribution of ``age-gender`` for the largest face, summed over the
buckets of ``AGE_RANGES``."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from medialens.analyses.errors import UnprocessableError
from medialens.analyses.face_attributes.labels import AGE_MODEL, AGE_RANGES, FACE_MODEL
from medialens.config import Settings
from medialens.models.loader import get_pipeline
from medialens.models.pipelines.faces import Face, as_rgb_array

_AGE_BOUNDS = ((0, 2), (3, 9), (10, 19), (20, 29), (30, 39), (40, 49), (50, 59), (60, 69), (70, 80))


@dataclass(frozen=True)
class AgeRangeResult:
    age_range: str
    age_range_prob: float
    age: float = 0.0
    """The model's expected age (years), for reference."""
    bbox: tuple[int, int, int, int] = (0, 0, 0, 0)


def estimate_age_range(image: Image.Image | np.ndarray, settings: Settings) -> AgeRangeResult:
    """The PAI age bucket of the largest face: the age model's 81 classes summed per bucket, the best bucket."""
    from medialens.models.pipelines.age_gender import AgeGenderRequest

    rgb = as_rgb_array(image)
    faces: list[Face] = get_pipeline(FACE_MODEL, settings).run_batch([rgb])[0]
    if not faces:
        raise UnprocessableError("no face found")
    main = max(faces, key=lambda f: (f.bbox[2] - f.bbox[0]) * (f.bbox[3] - f.bbox[1]))
    (ag,) = get_pipeline(AGE_MODEL, settings).run_batch([AgeGenderRequest(rgb, [main])])[0]
    dist = np.asarray(ag.age_distribution, np.float64)
    dist = dist / max(dist.sum(), 1e-12)
    buckets = np.array([dist[lo : hi + 1].sum() for lo, hi in _AGE_BOUNDS])
    best = int(np.argmax(buckets))
    x0, y0, x1, y1 = main.bbox
    return AgeRangeResult(
        age_range=AGE_RANGES[best],
        age_range_prob=round(float(buckets[best]), 4),
        age=float(ag.age),
        bbox=(int(x0), int(y0), math.ceil(x1), math.ceil(y1)),
    )
