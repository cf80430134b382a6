"""Face tasks: attributes of every face (PAI FaceAttrImage) and the main face's age range (model ``fairface``)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from medialens.analyses.face_attributes import analyze_faces, estimate_age_range
from medialens.tasks.base import TaskContext
from medialens.tasks.intake import fetch_image

FACE_MODELS = ("dlib-face", "mediapipe-face-landmark", "mediapipe-selfie-segmentation")
AGE_MODELS = ("dlib-face", "age-gender")
MIN_FACE_SIDE = 100  # the seed: "the face area must have a resolution higher than 100x100"


def face_attributes(ctx: TaskContext, inputs: dict[str, Any]) -> dict[str, Any]:
    result = analyze_faces(fetch_image(inputs["url"], ctx.settings), ctx.settings, min_face=MIN_FACE_SIDE)
    return {"faces": [asdict(f) for f in result.faces], "method": result.method}


def face_age(ctx: TaskContext, inputs: dict[str, Any]) -> dict[str, Any]:
    result = estimate_age_range(fetch_image(inputs["url"], ctx.settings), ctx.settings)
    return {"age_range": result.age_range, "age_range_prob": result.age_range_prob, "age": result.age}
