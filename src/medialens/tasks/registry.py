"""Every task medialens can run, by name, with the models it needs."""

from __future__ import annotations

from medialens.tasks.base import TaskSpec, register
from medialens.tasks.edits import anime_tags, body_reshape, watermark_remove
from medialens.tasks.faces import AGE_MODELS, FACE_MODELS, face_age, face_attributes
from medialens.tasks.quality import image_quality, video_quality
from medialens.tasks.tags import TAG_MODELS, image_tags, multimodal, video_classify

TASKS = {
    spec.name: spec
    for spec in (
        register(TaskSpec("image_quality", "image", image_quality, requires=("niqe",))),
        register(TaskSpec("video_quality", "video", video_quality, requires=("niqe",))),
        register(TaskSpec("image_tags", "image", image_tags, requires=TAG_MODELS)),
        register(TaskSpec("face_attributes", "image", face_attributes, requires=FACE_MODELS)),
        register(TaskSpec("face_age", "image", face_age, requires=AGE_MODELS)),
        register(TaskSpec("video_classify", "video", video_classify, requires=TAG_MODELS)),
        register(TaskSpec("multimodal", "video", multimodal, requires=TAG_MODELS)),
        register(
            TaskSpec(
                "body_reshape", "image", body_reshape, requires=("mediapipe-pose", "mediapipe-selfie-segmentation")
            )
        ),
        register(TaskSpec("watermark_remove", "image", watermark_remove, requires=("ppocr-v4",))),
        # Which tagger model is needed depends on configure.tagger_type: the analysis says "not installed".
        register(TaskSpec("anime_tags", "image", anime_tags)),
    )
}
