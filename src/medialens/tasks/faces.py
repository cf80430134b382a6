"""Face tasks: attributes of every face (PAI FaceAttrImage) and the main face's age range (model ``fairface``)."""

from __future__ import annotations

from medialens.analyses.face_attributes import analyze_faces, estimate_age_range
from medialens.tasks.base import TaskContext, TaskInput
from medialens.tasks.intake import input_image
from medialens.tasks.options import TaskOptions
from medialens.tasks.results import AgeRange, Faces

FACE_MODELS = ("dlib-face", "mediapipe-face-landmark", "mediapipe-selfie-segmentation")
AGE_MODELS = ("dlib-face", "age-gender")
MIN_FACE_SIDE = 100  # the seed: "the face area must have a resolution higher than 100x100"


def face_attributes(ctx: TaskContext, given: TaskInput, _opts: TaskOptions) -> Faces:
    result = analyze_faces(input_image(given, ctx.settings), ctx.settings, min_face=MIN_FACE_SIDE)
    return Faces(faces=result.faces, method=result.method)


def face_age(ctx: TaskContext, given: TaskInput, _opts: TaskOptions) -> AgeRange:
    result = estimate_age_range(input_image(given, ctx.settings), ctx.settings)
    return AgeRange(age_range=result.age_range, age_range_prob=result.age_range_prob, age=result.age)
