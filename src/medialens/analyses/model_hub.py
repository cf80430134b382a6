"""The computations behind the Model Hub services (protocol-agnostic; the EAS shapes are the protocol's).

Each function takes decoded inputs and returns plain typed values; which real model runs is named by the
constants here and, for users, in the service catalogue (``medialens.core.services``).
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from medialens.analyses.errors import UnprocessableError
from medialens.analyses.evidence import conse_vector, embed_texts, softmax
from medialens.config import Settings
from medialens.models.loader import get_pipeline
from medialens.models.pipelines.detection import Detection
from medialens.models.pipelines.imagenet import ImageNetResult, imagenet_classes
from medialens.models.pipelines.ocr_v5 import OCR_MODEL as OCR_PIPELINE_MODEL

IMAGENET_MODEL = "mobilenet-v2"
DETECTOR_MODEL = "nanodet"
OCR_MODEL = OCR_PIPELINE_MODEL  # the one OCR pipeline (PP-OCRv4 detector + PP-OCRv5 recogniser)
SEGMENTATION_MODEL = "mediapipe-selfie-segmentation"
FACE_MODEL = "dlib-face"
AGE_MODEL = "age-gender"
EMOTION_MODEL = "fer-emotion"
TEXT_MODEL = "e5-small-q4"
BERT_MODEL = "bge-base-zh"
SEMANTIC_MODEL = "deeplabv3-mobilevit-voc"
INSTANCE_MODEL = "yolov8n-seg"
COLOR_MODEL = "ddcolor-tiny"
RESTORE_MODEL = "gfpgan-v1.4"
PLACES_MODEL = "places365-resnet18"

# dlib's embedding: a Euclidean distance below 0.6 is the same person. The seed's similarity is 100 for the same
# face and below 80 for different people, so 0.6 maps to 80 and the scale is linear in the distance.
FACE_SAME_DISTANCE = 0.6
FACE_SIMILARITY_AT_THRESHOLD = 80.0

# Retail objects the general COCO detector knows (inventory counting until a SKU detector is trained).
RETAIL_CLASSES = frozenset({"bottle", "cup", "wine glass", "bowl", "banana", "apple", "orange", "book", "vase"})

# Scene names from Places365 (CSAIL's categories, "/" and "_" turned into words) for zero-shot scene scores.
SCENES = tuple(
    [
        "airfield",
        "airplane_cabin",
        "airport_terminal",
        "alley",
        "amusement_park",
        "aquarium",
        "arch",
        "art_gallery",
        "auditorium",
        "bakery-shop",
        "balcony-exterior",
        "ballroom",
        "bamboo_forest",
        "bank_vault",
        "bar",
        "basketball_court-indoor",
        "bathroom",
        "beach",
        "bedroom",
        "boardwalk",
        "boat_deck",
        "bookstore",
        "bridge",
        "building_facade",
        "bus_station-indoor",
        "butchers_shop",
        "canyon",
        "castle",
        "church-indoor",
        "classroom",
        "clothing_store",
        "coast",
        "computer_room",
        "concert_hall",
        "conference_room",
        "corridor",
        "courtyard",
        "desert-sand",
        "dining_room",
        "downtown",
        "farm",
        "field-wild",
        "fire_station",
        "football_field",
        "forest-broadleaf",
        "garage-indoor",
        "gas_station",
        "gazebo-exterior",
        "glacier",
        "golf_course",
        "gymnasium-indoor",
        "harbor",
        "highway",
        "hospital_room",
        "hotel_room",
        "ice_skating_rink-indoor",
        "kitchen",
        "laboratory-wet",
        "lake-natural",
        "library-indoor",
        "living_room",
        "locker_room",
        "market-outdoor",
        "mountain",
        "museum-indoor",
        "ocean",
        "office",
        "park",
        "parking_lot",
        "pavilion",
        "pier",
        "playground",
        "railroad_track",
        "restaurant",
        "river",
        "runway",
        "sky",
        "skyscraper",
        "stadium-soccer",
        "stage-indoor",
        "street",
        "subway_station-platform",
        "supermarket",
        "swimming_pool-outdoor",
        "television_studio",
        "tower",
        "train_station-platform",
        "volcano",
        "waterfall",
        "workshop",
    ]
)
SCENE_TEMPERATURE = 0.02


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


# --- image classification -----------------------------------------------------------------------------------------
@functools.cache
def class_names() -> tuple[str, ...]:
    """ImageNet class names, made unique (two classes are called "crane", two "maillot") for the probs map."""
    seen: Counter[str] = Counter()
    out = []
    for name in imagenet_classes():
        seen[name] += 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return tuple(out)


def imagenet(image: Image.Image, settings: Settings) -> ImageNetResult:
    return get_pipeline(IMAGENET_MODEL, settings)(image)


# --- detection -------------------------------------------------------------------------------------------------------
def detect(image: Image.Image, settings: Settings, min_score: float = 0.3) -> list[Detection]:
    dets: list[Detection] = get_pipeline(DETECTOR_MODEL, settings)(image)
    return sorted((d for d in dets if d.score >= min_score), key=lambda d: -d.score)


def retail_objects(image: Image.Image, settings: Settings) -> list[Detection]:
    return [d for d in detect(image, settings, min_score=0.25) if d.label in RETAIL_CLASSES]


def inventory(image: Image.Image, settings: Settings) -> tuple[list[Detection], str]:
    """Retail objects, each named by its SKU when a SKU classifier has been trained (``analyses/sku.py``) and
    is sure enough, else by its COCO class; returns (objects, method)."""
    from medialens.analyses import sku

    dets = retail_objects(image, settings)
    classifier = sku.trained_classifier(settings)
    if classifier is None:
        return dets, f"{DETECTOR_MODEL} (COCO classes; no SKU classifier trained)"
    if not dets:
        return dets, f"{DETECTOR_MODEL} + {sku.CLASSIFIER_DIR}"
    crops = [image.crop(tuple(round(v) for v in d.box)) for d in dets]
    best, score = classifier.predict(sku.features(crops, settings))
    out = []
    for d, i, p in zip(dets, best, score, strict=True):
        if p < sku.MIN_SKU_SCORE:
            out.append(d)
            continue
        name = classifier.classes[int(i)]
        class_id = sku.SKU_CLASSES.index(name) if name in sku.SKU_CLASSES else len(sku.SKU_CLASSES) + int(i)
        out.append(Detection(name, class_id, float(d.score * p), d.box))
    return out, f"{DETECTOR_MODEL} + {sku.CLASSIFIER_DIR}"


# --- OCR -------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TextLine:
    corners: tuple[tuple[float, float], ...]  # (x, y), clockwise from the top-left
    text: str
    score: float
    char_ids: tuple[int, ...]  # each character's index in the recogniser's dictionary (1-based, 0 = unknown)


def ocr_model(settings: Settings) -> str:
    """The model the OCR service names in its answers."""
    return OCR_MODEL


def read_text(image: Image.Image, settings: Settings) -> list[TextLine]:
    pipe = get_pipeline(ocr_model(settings), settings)
    result = pipe(image)
    index = {c: i + 1 for i, c in enumerate(getattr(pipe, "characters", ()))}
    return [TextLine(tuple(ln.box), ln.text, ln.score, tuple(index.get(c, 0) for c in ln.text)) for ln in result.lines]


# --- foreground ------------------------------------------------------------------------------------------------------
def person_mask(image: Image.Image, settings: Settings) -> np.ndarray:
    """Boolean (H, W) mask of the person pixels."""
    rgb = np.asarray(image.convert("RGB"))
    return np.asarray(get_pipeline(SEGMENTATION_MODEL, settings)(rgb)) > 0.5


# --- scenes ----------------------------------------------------------------------------------------------------------
@functools.cache
def _scene_words() -> tuple[str, ...]:
    return tuple(s.replace("_", " ").replace("-", " ") for s in SCENES)


@dataclass(frozen=True)
class SceneScores:
    names: tuple[str, ...]
    probs: np.ndarray
    model: str


def scenes(image: Image.Image, settings: Settings) -> SceneScores:
    """CSAIL's Places365 ResNet-18 over its 365 categories when pulled (a classifier trained on scenes), else the
    offline zero-shot scores over ``SCENES``."""
    from medialens.models.installed import installed

    if installed(PLACES_MODEL, settings):
        pipe = get_pipeline(PLACES_MODEL, settings)
        return SceneScores(tuple(pipe.categories), pipe(image).probs, PLACES_MODEL)
    return SceneScores(SCENES, scene_probs(image, settings), f"conse:{IMAGENET_MODEL}+{TEXT_MODEL}")


def scene_probs(image: Image.Image, settings: Settings) -> np.ndarray:
    """Zero-shot probabilities over ``SCENES``: the image's ConSE vector against the scene names in e5 space."""
    probs = imagenet(image, settings).probs
    v = conse_vector(probs, {}, settings)
    names = _scene_matrix(settings)
    return softmax(names @ v.reshape(-1), SCENE_TEMPERATURE)


def _scene_matrix(settings: Settings) -> np.ndarray:
    key = str(settings.resolved_model_dir)
    hit = _SCENE_CACHE.get(key)
    if hit is None:
        m = embed_texts([f"a photo of a {w}" for w in _scene_words()], settings)
        hit = _SCENE_CACHE[key] = m - m.mean(axis=0, keepdims=True)
        hit /= np.maximum(np.linalg.norm(hit, axis=1, keepdims=True), 1e-12)
    return hit


_SCENE_CACHE: dict[str, np.ndarray] = {}


# --- image similarity ------------------------------------------------------------------------------------------------
def image_vector(image: Image.Image, settings: Settings) -> np.ndarray:
    """Unit 1280-d MobileNetV2 global feature."""
    return _unit(np.asarray(imagenet(image, settings).features, np.float64))


def compare_vectors(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(cosine similarity, L2 distance) of two unit vectors."""
    cos = float(np.clip(a @ b, -1.0, 1.0))
    return cos, float(np.linalg.norm(a - b))


# --- faces -----------------------------------------------------------------------------------------------------------
def find_faces(rgb: np.ndarray, settings: Settings, *, embed: bool = True) -> list:
    """The face pipeline's default detector (MediaPipe full range confirmed by the face-mesh presence flag:
    frontal, turned, small and grey faces), with dlib's 5-point alignment for the embedding."""
    from medialens.models.pipelines.faces import FaceRequest

    return get_pipeline(FACE_MODEL, settings)(FaceRequest(rgb, embed=embed))


def single_face_embedding(image: Image.Image, settings: Settings, which: str) -> np.ndarray:
    rgb = np.asarray(image.convert("RGB"))
    faces = find_faces(rgb, settings)
    if len(faces) != 1:
        raise UnprocessableError(f"{which} must hold exactly one face; found {len(faces)}")
    return np.asarray(faces[0].embedding, np.float64)


def face_similarity(distance: float) -> int:
    slope = (100.0 - FACE_SIMILARITY_AT_THRESHOLD) / FACE_SAME_DISTANCE
    return round(max(0.0, min(100.0, 100.0 - slope * distance)))


@dataclass(frozen=True)
class FaceProperties:
    box: tuple[float, float, float, float]  # x1, y1, x2, y2
    score: float
    age: float
    gender: str
    emotion: str


EMOTION_NAMES = {
    "angry": "Anger",
    "disgust": "Disgust",
    "fear": "Fear",
    "happy": "Happiness",
    "sad": "Sadness",
    "surprise": "Surprise",
    "neutral": "Neutral",
}


def face_properties(image: Image.Image, settings: Settings) -> list[FaceProperties]:
    from medialens.models.pipelines.age_gender import AgeGenderRequest
    from medialens.models.pipelines.emotion import EmotionRequest

    rgb = np.asarray(image.convert("RGB"))
    faces = find_faces(rgb, settings)
    if not faces:
        return []
    ages = get_pipeline(AGE_MODEL, settings)(AgeGenderRequest(rgb, faces))
    emotions = get_pipeline(EMOTION_MODEL, settings)(EmotionRequest(rgb, faces))
    return [
        FaceProperties(
            box=tuple(float(v) for v in f.bbox),  # type: ignore[arg-type]
            score=float(f.score),
            age=float(ag.age),
            gender=ag.gender,
            emotion=EMOTION_NAMES.get(em.top, em.top),
        )
        for f, ag, em in zip(faces, ages, emotions, strict=True)
    ]


# --- text ------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TextVectors:
    pool: np.ndarray
    first_token: np.ndarray | None
    hidden: np.ndarray | None
    tokens: int
    model: str


def text_vectors(first: str, second: str, max_tokens: int, settings: Settings) -> TextVectors:
    """Every token's hidden state from a BERT-family encoder. With the hub model ``bge-base-zh`` installed: its
    768-d states (pool: its normalised [CLS] state, the model's sentence vector). Otherwise multilingual-e5-small's
    own 384-d states (offline; the sentence is read as e5's ``query: ...``; pool: the mean of the states,
    normalised, which is e5's sentence vector). First token: the [CLS]/``<s>`` state."""
    from medialens.models.installed import installed
    from medialens.models.pipelines.bert import BertInput

    if installed(BERT_MODEL, settings):
        states = get_pipeline(BERT_MODEL, settings)(BertInput(first, second, max_tokens))
        cls = states.hidden[0]
        return TextVectors(_unit(cls.astype(np.float64)), cls, states.hidden, len(states.ids), BERT_MODEL)
    states = get_pipeline(TEXT_MODEL, settings).hidden_states(first, second, max_tokens)
    pool = _unit(states.hidden.mean(axis=0, dtype=np.float64))
    return TextVectors(pool, states.hidden[0], states.hidden, len(states.ids), TEXT_MODEL)


def sequence_counts(names: Sequence[str]) -> dict[str, int]:
    return dict(Counter(names))


# --- segmentation (hub models) ------------------------------------------------------------------------------------
def rle_counts(mask: np.ndarray) -> list[int]:
    """Run lengths of a boolean mask read row by row, starting with a (possibly empty) run of False:
    [True, False, False, True] -> [0, 1, 2, 1]."""
    flat = np.asarray(mask, bool).reshape(-1)
    if flat.size == 0:
        return []
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    runs = np.diff(bounds).tolist()
    return [0, *runs] if flat[0] else runs


def rle_decode(counts: Sequence[int], height: int, width: int) -> np.ndarray:
    values = np.zeros(len(counts), bool)
    values[1::2] = True
    return np.repeat(values, counts).reshape(height, width)


def semantic_segments(image: Image.Image, settings: Settings):
    return get_pipeline(SEMANTIC_MODEL, settings)(image)


def instances(image: Image.Image, settings: Settings) -> list:
    """YOLOv8n-seg detections (box, score, COCO class, bool mask at the image's size)."""
    return get_pipeline(INSTANCE_MODEL, settings)(image)


# --- colouring and face restoration (hub models) ---------------------------------------------------------------------
def colorize(image: Image.Image, settings: Settings) -> Image.Image:
    return get_pipeline(COLOR_MODEL, settings)(image)


def restore_faces(image: Image.Image, settings: Settings) -> tuple[Image.Image, int]:
    """Every face dlib finds, aligned to GFPGAN's template by its eyes and nose, restored, and blended back with a
    feathered mask; returns (image, faces restored)."""
    import cv2

    rgb = np.asarray(image.convert("RGB"))
    faces = find_faces(rgb, settings, embed=False)
    if not faces:
        return image, 0
    restorer = get_pipeline(RESTORE_MODEL, settings)
    size = restorer.size
    out = rgb.astype(np.float32)
    h, w = rgb.shape[:2]
    feather = np.zeros((size, size), np.float32)
    margin = size // 16
    feather[margin:-margin, margin:-margin] = 1.0
    feather = cv2.GaussianBlur(feather, (0, 0), margin / 2)
    for face in faces:
        (left_eye, right_eye), nose = face.eyes, face.landmarks[4]
        points = np.array([left_eye, right_eye, nose], np.float32)
        matrix, _ = cv2.estimateAffinePartial2D(points, restorer.TEMPLATE, method=cv2.LMEDS)
        if matrix is None:
            continue
        crop = cv2.warpAffine(rgb, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        restored = restorer(crop)
        inverse = cv2.invertAffineTransform(matrix)
        back = cv2.warpAffine(restored, inverse, (w, h), flags=cv2.INTER_LINEAR).astype(np.float32)
        alpha = cv2.warpAffine(feather, inverse, (w, h), flags=cv2.INTER_LINEAR)[:, :, None]
        out = alpha * back + (1.0 - alpha) * out
    return Image.fromarray(np.clip(out, 0, 255).round().astype(np.uint8)), len(faces)
