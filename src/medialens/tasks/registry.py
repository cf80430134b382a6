"""Every task medialens can run, by name, with its contract (options, result) and the models it needs."""

from __future__ import annotations

from medialens.models.pipelines.ocr_v5 import OCR_MODEL
from medialens.tasks import options as o
from medialens.tasks import results as r
from medialens.tasks.base import TaskSpec, register
from medialens.tasks.edits import anime_tags, body_reshape, watermark_remove
from medialens.tasks.faces import AGE_MODELS, FACE_MODELS, face_age, face_attributes
from medialens.tasks.hub import HUB_SPECS
from medialens.tasks.quality import image_quality, video_quality
from medialens.tasks.speech import SPEECH_MODELS, transcribe
from medialens.tasks.tags import TAG_MODELS, image_tags, multimodal, video_classify

_SPECS = (
    TaskSpec("image_quality", "image", image_quality, o.TaskOptions, r.ImageQuality, ("niqe",), "no-reference quality"),
    TaskSpec("video_quality", "video", video_quality, o.TaskOptions, r.VideoQuality, ("niqe",), "video quality"),
    TaskSpec("image_tags", "image", image_tags, o.ImageTagsOptions, r.ImageTags, TAG_MODELS, "tags and embedding"),
    TaskSpec("face_attributes", "image", face_attributes, o.TaskOptions, r.Faces, FACE_MODELS, "face attributes"),
    TaskSpec("face_age", "image", face_age, o.TaskOptions, r.AgeRange, AGE_MODELS, "age range of the main face"),
    TaskSpec(
        "video_classify", "video", video_classify, o.ClassifyOptions, r.Classification, TAG_MODELS, "video category"
    ),
    TaskSpec("multimodal", "video", multimodal, o.ClassifyOptions, r.Classification, TAG_MODELS, "post category"),
    TaskSpec(
        "body_reshape",
        "image",
        body_reshape,
        o.BodyReshapeOptions,
        r.BodyReshape,
        ("mediapipe-pose", "mediapipe-selfie-segmentation"),
        "slim or enlarge a body",
    ),
    TaskSpec(
        "watermark_remove", "image", watermark_remove, o.TaskOptions, r.WatermarkRemoval, (OCR_MODEL,), "remove text"
    ),
    # Audio, or a video's sound track; runs on the video workers' queue (Celery has no audio queue).
    TaskSpec(
        "transcribe", "audio", transcribe, o.TranscribeOptions, r.Transcript, SPEECH_MODELS, "speech to text", "video"
    ),
    # Which tagger model is needed depends on the tagger_type option: the analysis says "not installed".
    TaskSpec("anime_tags", "image", anime_tags, o.TaggerOptions, r.AnimeTags, (), "WD14 anime-style tags"),
)
TASKS = {spec.name: register(spec) for spec in _SPECS}

# Video indexes (Twelve Labs protocol): one job per uploaded video, its result the video's evidence.
from medialens.tasks.video_index import INDEX_MODELS, VideoIndexOptions, VideoIndexResult, video_index  # noqa: E402

TASKS["video_index"] = register(
    TaskSpec("video_index", "video", video_index, VideoIndexOptions, VideoIndexResult, INDEX_MODELS, "video index")
)
TASKS.update({spec.name: register(spec) for spec in HUB_SPECS})  # the Model Hub services' tasks
from medialens.tasks.hub_video import HUB_VIDEO_SPECS  # noqa: E402

TASKS.update({spec.name: register(spec) for spec in HUB_VIDEO_SPECS})  # Model Hub video services
from medialens.tasks.hub_audio import HUB_AUDIO_SPECS  # noqa: E402

TASKS.update({spec.name: register(spec) for spec in HUB_AUDIO_SPECS})  # Model Hub audio services

# VOD smart tagging and fingerprinting on media of the library (tasks/vod.py).
from medialens.tasks import vod as _vod  # noqa: E402

VOD_SPECS = (
    TaskSpec(
        "vod_video_tag", "video", _vod.video_tag, _vod.VideoTagOptions, _vod.VideoTags, _vod.TAG_MODELS, "VOD tags"
    ),
    TaskSpec("vod_ai_image", "video", _vod.ai_image, _vod.AIImageOptions, _vod.AIImages, ("dlib-face",), "AI covers"),
    TaskSpec(
        "vod_dynamic_image",
        "video",
        _vod.dynamic_image,
        _vod.DynamicImageOptions,
        _vod.DynamicImageResult,
        ("dlib-face",),
        "GIF",
    ),
    TaskSpec("vod_media_dna", "video", _vod.media_dna, _vod.VodMediaOptions, _vod.MediaDna, _vod.DNA_MODELS, "VOD DNA"),
    TaskSpec("vod_register", "video", _vod.register, _vod.VodMediaOptions, _vod.Registered, (), "VOD RegisterMedia"),
)
TASKS.update({spec.name: register(spec) for spec in VOD_SPECS})
