"""Faces: MediaPipe full-range detection, dlib 5-point landmarks and the dlib 128-d face embedding.

Model files (spec ``dlib-face``): ``face_detection_full_range_sparse.tflite`` and ``face_landmark.tflite``
from the ``mediapipe`` wheel (Apache-2.0, run on LiteRT, decoding in ``mediapipe_models``);
``shape_predictor_5_face_landmarks.dat``, ``dlib_face_recognition_resnet_model_v1.dat`` (ResNet, LFW 99.38 %)
and ``mmod_human_face_detector.dat`` (CNN detector) from ``face_recognition_models`` (CC0). The HOG detector
ships inside dlib itself.

Detector choice, measured on the shared media (tests/media, 23 images, 10 faces; 2 shared CPU cores):

* ``mediapipe`` (default): BlazeFace full range finds all 10 faces, including the half-turned cameraman that
  HOG misses, in 7-100 ms per image. Alone it also takes a Hangul syllable on the Korean road sign for a face
  (score 0.81); every box is therefore confirmed by the face-mesh model's face-presence flag on that box
  (``PRESENCE_MIN``; 0.002 on the sign, 0.25 on the profile cameraman, 1.0 on frontal faces), which removes
  it. Landmarks then come from dlib's 5-point shape predictor on the detector's box.
* ``hog``: dlib's frontal HOG detector (20-3400 ms per image with upsampling); misses turned faces.
* ``cnn``: dlib's mmod CNN (1-11 s per image on CPU; runs on a copy scaled to ``CNN_MAX_SIDE``).

Alignment for the embedding, measured on the same-/different-person pairs of the shared photos (9 faces,
3 people): dlib's 5-point shape predictor on the full-range box separates them by a margin of 0.294 (largest
same-person distance 0.482, smallest different-person distance 0.776; HOG boxes gave 0.296 on the faces HOG
finds); an alignment from the face mesh's eye corners and nose base gives 0.274, so the shape predictor is used.

Embeddings are dlib's own (Euclidean distance < 0.6 means "same person" in dlib's LFW protocol);
``Face.embedding_unit`` is the L2-normalised vector for cosine search.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from medialens.config import Settings
from medialens.models.pipeline import Pipeline
from medialens.models.pipelines import register_pipeline

Detector = Literal["mediapipe", "hog", "cnn"]
DETECTORS: tuple[str, ...] = ("mediapipe", "hog", "cnn")
BBox = tuple[float, float, float, float]
Point = tuple[float, float]

#: MediaPipe full-range detections are kept when the face-mesh model's presence probability on their box is at
#: least this (MediaPipe itself drops a tracked face below 0.5; a profile face scores about 0.25 there).
PRESENCE_MIN = 0.1
#: Images are scaled down to at most this long side before HOG detection (cost grows with the pixel count).
HOG_MAX_SIDE = 1600
#: HOG finds faces from about 80 px at upsample 0; images whose (working) long side is at most this are
#: upsampled once, so faces down to about 40 px are found there.
HOG_UPSAMPLE_MAX_SIDE = 1024
#: The CNN detector runs on a copy scaled to at most this long side (it is about 50x slower than HOG on CPU).
CNN_MAX_SIDE = 640
#: dlib's recognition chips: 150 x 150, padding 0.25 (what the ResNet was trained on).
CHIP_SIZE = 150
CHIP_PADDING = 0.25
#: dlib's LFW decision threshold on the raw embedding's Euclidean distance.
SAME_PERSON_DISTANCE = 0.6

# The 5-point model's landmark order (dlib's shape_predictor_5_face_landmarks): two corners of the eye on the
# image's right (the subject's left eye), two corners of the eye on the image's left, then the base of the nose.
LANDMARK_NAMES = (
    "eye_image_right_outer",
    "eye_image_right_inner",
    "eye_image_left_outer",
    "eye_image_left_inner",
    "nose",
)


def as_rgb_array(image: Any) -> np.ndarray:
    """An ``H x W x 3`` C-contiguous uint8 RGB array from a numpy array (grey, RGB or RGBA) or a PIL image."""
    if not isinstance(image, np.ndarray):
        try:
            from PIL import Image
        except ImportError as exc:  # pragma: no cover - pillow is a core dependency
            raise TypeError(f"unsupported image type {type(image).__name__}") from exc
        if not isinstance(image, Image.Image):
            raise TypeError(f"expected a numpy array or a PIL image, got {type(image).__name__}")
        image = np.asarray(image.convert("RGB"))
    arr = image
    if arr.dtype != np.uint8:
        if np.issubdtype(arr.dtype, np.floating) and arr.size and float(np.nanmax(arr)) <= 1.0:
            arr = arr * 255.0
        arr = np.clip(arr, 0, 255).astype(np.uint8)
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    elif arr.ndim == 3 and arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    elif arr.ndim == 3 and arr.shape[2] == 4:
        arr = arr[:, :, :3]
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"expected an H x W, H x W x 3 or H x W x 4 image, got shape {image.shape}")
    return np.ascontiguousarray(arr)


@dataclass(frozen=True)
class FaceRequest:
    """An image plus detection options; a bare image or PIL image means ``FaceRequest(image)``."""

    image: Any
    detector: Detector = "mediapipe"
    upsample: int | None = None
    """HOG upsampling (0-2); None picks 1 for images up to ``HOG_UPSAMPLE_MAX_SIDE`` pixels, else 0."""
    embed: bool = True


@dataclass(frozen=True, eq=False)
class Face:
    """One detected face. Coordinates are pixels of the input image; ``bbox`` is [xmin, ymin, xmax, ymax)."""

    bbox: BBox
    score: float
    """Detector confidence: MediaPipe probability (0.5-1), HOG SVM margin (about 0 to 3) or CNN (mmod)
    confidence; compare within a detector."""
    detector: str
    landmarks: tuple[Point, ...]
    """The 5 dlib points, in ``LANDMARK_NAMES`` order."""
    embedding: np.ndarray | None = field(repr=False)
    """dlib's raw 128-d float32 descriptor (Euclidean distance < 0.6: same person); None when not asked for."""

    @property
    def embedding_unit(self) -> np.ndarray | None:
        if self.embedding is None:
            return None
        norm = float(np.linalg.norm(self.embedding))
        return self.embedding / norm if norm > 0 else self.embedding

    @property
    def eyes(self) -> tuple[Point, Point]:
        """Eye centres: (eye on the image's left, eye on the image's right)."""
        p = self.landmarks
        left = ((p[2][0] + p[3][0]) / 2, (p[2][1] + p[3][1]) / 2)
        right = ((p[0][0] + p[1][0]) / 2, (p[0][1] + p[1][1]) / 2)
        return left, right

    def to_dict(self) -> dict[str, Any]:
        return {
            "bbox": [round(v, 2) for v in self.bbox],
            "score": round(self.score, 4),
            "detector": self.detector,
            "landmarks": [[round(x, 2), round(y, 2)] for x, y in self.landmarks],
            "embedding": None if self.embedding is None else [float(v) for v in self.embedding],
        }


def face_distance(a: Face | np.ndarray, b: Face | np.ndarray) -> float:
    """Euclidean distance between two raw dlib embeddings (dlib's metric; < 0.6 is the same person)."""
    ea = a.embedding if isinstance(a, Face) else a
    eb = b.embedding if isinstance(b, Face) else b
    if ea is None or eb is None:
        raise ValueError("both faces need an embedding")
    return float(np.linalg.norm(np.asarray(ea, dtype=np.float64) - np.asarray(eb, dtype=np.float64)))


def full_object_detection(bbox: Sequence[float], landmarks: Sequence[Sequence[float]]) -> Any:
    """A dlib ``full_object_detection`` rebuilt from a bbox and 5 landmarks (for alignment by other models)."""
    import dlib

    if len(landmarks) != 5:
        raise ValueError(f"need the 5 dlib landmarks, got {len(landmarks)}")
    x0, y0, x1, y1 = (round(float(v)) for v in bbox)
    rect = dlib.rectangle(x0, y0, max(x0, x1 - 1), max(y0, y1 - 1))
    points = dlib.points()
    for x, y in landmarks:
        points.append(dlib.point(round(float(x)), round(float(y))))
    return dlib.full_object_detection(rect, points)


def aligned_chip(image: np.ndarray, shape: Any, size: int, padding: float) -> np.ndarray:
    """dlib's aligned face chip (rotated upright, scaled to ``size``) for a ``full_object_detection``."""
    import dlib

    details = dlib.get_face_chip_details(shape, size, padding)
    return np.ascontiguousarray(dlib.extract_image_chip(image, details))


@dataclass
class _Pre:
    image: np.ndarray
    detector: Detector
    upsample: int
    embed: bool


def _resize(image: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """The image scaled so its long side is at most ``max_side``, and the scale used (<= 1)."""
    h, w = image.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    if scale >= 1.0:
        return image, 1.0
    import cv2

    small = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(small), scale


@register_pipeline
class DlibFacePipeline(Pipeline[Any, _Pre, list[Face]]):
    """Image → faces (bbox, score, 5 landmarks, 128-d embedding), largest first."""

    model_name = "dlib-face"
    max_batch_size = 8

    def __init__(self, model_dir: Path, settings: Settings) -> None:
        super().__init__(model_dir, settings)
        import dlib

        from medialens.models.pipelines.mediapipe_models import FULL_RANGE_FILE, FaceMeshPipeline, FullRangeFaceDetector

        self._mediapipe = FullRangeFaceDetector(model_dir / FULL_RANGE_FILE, settings)
        self._mesh = FaceMeshPipeline(model_dir, settings)  # its face_landmark.tflite ships in this spec too
        self._hog = dlib.get_frontal_face_detector()
        self._cnn: Any = None
        self._predictor = dlib.shape_predictor(str(model_dir / "shape_predictor_5_face_landmarks.dat"))
        self._encoder = dlib.face_recognition_model_v1(str(model_dir / "dlib_face_recognition_resnet_model_v1.dat"))
        self._lock = threading.Lock()

    def _cnn_detector(self) -> Any:
        if self._cnn is None:
            import dlib

            self._cnn = dlib.cnn_face_detection_model_v1(str(self.model_dir / "mmod_human_face_detector.dat"))
        return self._cnn

    def preprocess(self, item: Any) -> _Pre:
        req = item if isinstance(item, FaceRequest) else FaceRequest(item)
        if req.detector not in DETECTORS:
            raise ValueError(f"unknown face detector {req.detector!r} ({', '.join(DETECTORS)})")
        image = as_rgb_array(req.image)
        upsample = req.upsample
        if upsample is None:
            work_side = min(max(image.shape[:2]), HOG_MAX_SIDE)
            upsample = 1 if work_side <= HOG_UPSAMPLE_MAX_SIDE else 0
        if not 0 <= upsample <= 2:
            raise ValueError("upsample must be 0, 1 or 2")
        return _Pre(image=image, detector=req.detector, upsample=upsample, embed=req.embed)

    def _detect(self, pre: _Pre) -> list[tuple[BBox, float]]:
        """(bbox in full-image pixels, score) per face."""
        if pre.detector == "mediapipe":
            return [
                (face.bbox, face.score)
                for face in self._mediapipe(pre.image)
                if self._mesh.presence(pre.image, face) >= PRESENCE_MIN
            ]
        if pre.detector == "cnn":
            work, scale = _resize(pre.image, CNN_MAX_SIDE)
            dets = self._cnn_detector()(work, 0)
            found = [(d.rect, float(d.confidence)) for d in dets]
        else:
            work, scale = _resize(pre.image, HOG_MAX_SIDE)
            rects, scores, _ = self._hog.run(work, pre.upsample, 0.0)
            found = list(zip(rects, (float(s) for s in scores), strict=True))
        h, w = pre.image.shape[:2]
        out = []
        for r, score in found:
            box = (
                max(0.0, r.left() / scale),
                max(0.0, r.top() / scale),
                min(float(w), (r.right() + 1) / scale),
                min(float(h), (r.bottom() + 1) / scale),
            )
            if box[2] - box[0] >= 2 and box[3] - box[1] >= 2:
                out.append((box, score))
        return out

    def forward(self, batch: Sequence[_Pre]) -> list[list[dict[str, Any]]]:
        import dlib

        results: list[list[dict[str, Any]]] = []
        with self._lock:
            for pre in batch:
                faces = []
                chips = []
                for box, score in self._detect(pre):
                    rect = dlib.rectangle(
                        round(box[0]), round(box[1]), max(round(box[0]), round(box[2]) - 1), round(box[3]) - 1
                    )
                    shape = self._predictor(pre.image, rect)
                    landmarks = tuple((float(p.x), float(p.y)) for p in shape.parts())
                    faces.append({"bbox": box, "score": score, "landmarks": landmarks, "embedding": None})
                    if pre.embed:
                        chips.append(dlib.get_face_chip(pre.image, shape, size=CHIP_SIZE, padding=CHIP_PADDING))
                if chips:
                    descriptors = self._encoder.compute_face_descriptor(chips)
                    for face, d in zip(faces, descriptors, strict=True):
                        face["embedding"] = np.asarray(d, dtype=np.float32)
                results.append(faces)
        return results

    def postprocess(self, raw: list[dict[str, Any]], item: Any, pre: _Pre) -> list[Face]:
        faces = [
            Face(
                bbox=tuple(float(v) for v in f["bbox"]),  # type: ignore[arg-type]
                score=f["score"],
                detector=pre.detector,
                landmarks=f["landmarks"],
                embedding=f["embedding"],
            )
            for f in raw
        ]
        faces.sort(key=lambda f: (f.bbox[2] - f.bbox[0]) * (f.bbox[3] - f.bbox[1]), reverse=True)
        return faces
