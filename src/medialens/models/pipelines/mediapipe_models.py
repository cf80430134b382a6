"""MediaPipe models run on LiteRT alone: BlazeFace, face mesh, selfie segmentation and BlazePose.

The ``.tflite`` files come from the ``mediapipe==0.10.21`` wheel (Apache-2.0); the mediapipe package itself is
not used. What its calculator graphs do around the networks is reimplemented here, following the graph files
of ``mediapipe/modules``: SSD anchor generation and box/keypoint decoding (``SsdAnchorsCalculator``,
``TensorsToDetectionsCalculator``), weighted non-max suppression, letterboxing (``ImageToTensorCalculator`` with
``keep_aspect_ratio``), detection → rotated ROI (``AlignmentPointsRectsCalculator`` / ``DetectionsToRects`` +
``RectTransformationCalculator``), the heatmap refinement of pose landmarks and the projection of ROI landmarks
back to the image (``LandmarkProjectionCalculator``). Every output is in pixels of the input image.

Pose is single-person: the best detection → its ROI → 33 landmarks (no tracking between frames).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from medialens.config import Settings
from medialens.models.imaging import Letterbox
from medialens.models.imaging import letterbox as fit_square
from medialens.models.pipeline import Pipeline
from medialens.models.pipelines import register_pipeline
from medialens.models.pipelines.faces import Face, as_rgb_array

# ----------------------------------------------------------------------------------------------------------
# Shared geometry
# ----------------------------------------------------------------------------------------------------------


def _interpreter(path: Path, settings: Settings) -> Any:
    from ai_edge_litert.interpreter import Interpreter

    threads = settings.model_threads if settings.model_threads > 0 else None
    interp = Interpreter(model_path=str(path), num_threads=threads)
    interp.allocate_tensors()
    return interp


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -80.0, 80.0)))


def ssd_anchor_centres(input_size: int, strides: Sequence[int], per_layer: int = 2) -> np.ndarray:
    """Anchor centres (normalised x, y) of MediaPipe's SSD anchors with ``fixed_anchor_size`` and aspect 1.

    Consecutive layers with the same stride share one feature map; each layer adds ``per_layer`` anchors per
    cell (2: aspect ratio 1 and the interpolated scale; 1 when ``interpolated_scale_aspect_ratio`` is 0, as in
    the full-range face detector), all of size 1 x 1, so only the centres matter.
    """
    centres: list[tuple[float, float]] = []
    i = 0
    while i < len(strides):
        j = i
        while j < len(strides) and strides[j] == strides[i]:
            j += 1
        per_cell = per_layer * (j - i)
        fm = math.ceil(input_size / strides[i])
        for y in range(fm):
            for x in range(fm):
                centres.extend([((x + 0.5) / fm, (y + 0.5) / fm)] * per_cell)
        i = j
    return np.asarray(centres, dtype=np.float32)


def letterbox(image: np.ndarray, size: int) -> tuple[np.ndarray, Letterbox]:
    """MediaPipe pads with zeros."""
    return fit_square(image, size, fill=0)


@dataclass(frozen=True)
class Roi:
    """A square, rotated region of the image in pixels: centre, side and rotation (radians, clockwise in y-down)."""

    cx: float
    cy: float
    size: float
    rotation: float = 0.0

    def to_image(self, xy_norm: np.ndarray) -> np.ndarray:
        """Normalised ROI coordinates (N, 2) in [0, 1] → image pixels (MediaPipe's landmark projection)."""
        x = xy_norm[:, 0] - 0.5
        y = xy_norm[:, 1] - 0.5
        c, s = math.cos(self.rotation), math.sin(self.rotation)
        return np.stack([self.cx + (c * x - s * y) * self.size, self.cy + (s * x + c * y) * self.size], axis=1)

    def crop(self, image: np.ndarray, out_size: int) -> np.ndarray:
        """The ROI resampled to ``out_size`` x ``out_size`` (bilinear, border replicated, as ImageToTensor)."""
        import cv2

        c, s = math.cos(self.rotation), math.sin(self.rotation)
        k = self.size / out_size
        # Output pixel centre (u + 0.5, v + 0.5) → image point; affine map output → input.
        a = np.array([[c * k, -s * k, 0.0], [s * k, c * k, 0.0]])
        centre_out = np.array([out_size / 2, out_size / 2])
        a[:, 2] = np.array([self.cx, self.cy]) - a[:, :2] @ centre_out
        # cv2 samples at integer coordinates: shift so that pixel centres line up.
        a[:, 2] += a[:, :2] @ np.array([0.5, 0.5]) - 0.5
        return cv2.warpAffine(
            image,
            a,
            (out_size, out_size),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_REPLICATE,
        )

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """Axis-aligned bounds of the rotated square."""
        corners = self.to_image(np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=np.float64))
        return (
            float(corners[:, 0].min()),
            float(corners[:, 1].min()),
            float(corners[:, 0].max()),
            float(corners[:, 1].max()),
        )


def _normalize_radians(angle: float) -> float:
    return angle - 2 * math.pi * math.floor((angle + math.pi) / (2 * math.pi))


def _rotation(start: Sequence[float], end: Sequence[float], target_degrees: float) -> float:
    """DetectionsToRectsCalculator::ComputeRotation, in pixels."""
    return _normalize_radians(math.radians(target_degrees) - math.atan2(-(end[1] - start[1]), end[0] - start[0]))


@dataclass(frozen=True)
class _Detection:
    box: np.ndarray  # xmin, ymin, xmax, ymax (normalised model-input coordinates)
    keypoints: np.ndarray  # K x 2 (normalised)
    score: float


def _decode(
    regressors: np.ndarray,
    scores: np.ndarray,
    anchors: np.ndarray,
    input_size: int,
    num_keypoints: int,
    threshold: float,
) -> list[_Detection]:
    """TensorsToDetectionsCalculator with reverse_output_order, fixed-size anchors and sigmoid scores."""
    probs = _sigmoid(np.clip(scores.reshape(-1), -100.0, 100.0))
    keep = np.nonzero(probs >= threshold)[0]
    out = []
    for i in keep:
        r = regressors[i] / input_size
        ax, ay = anchors[i]
        cx, cy, w, h = r[0] + ax, r[1] + ay, r[2], r[3]
        kps = np.stack([r[4 : 4 + 2 * num_keypoints : 2] + ax, r[5 : 5 + 2 * num_keypoints : 2] + ay], axis=1)
        out.append(_Detection(np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]), kps, float(probs[i])))
    return out


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def weighted_nms(dets: list[_Detection], iou_threshold: float = 0.3) -> list[_Detection]:
    """MediaPipe's WEIGHTED non-max suppression: overlapping boxes are averaged by score."""
    remaining = sorted(dets, key=lambda d: d.score, reverse=True)
    out = []
    while remaining:
        top = remaining[0]
        group = [d for d in remaining if _iou(top.box, d.box) > iou_threshold]
        rest = [d for d in remaining if _iou(top.box, d.box) <= iou_threshold]
        weights = np.array([d.score for d in group])
        total = weights.sum()
        box = sum(w * d.box for w, d in zip(weights, group, strict=True)) / total
        kps = sum(w * d.keypoints for w, d in zip(weights, group, strict=True)) / total
        out.append(_Detection(box, kps, top.score))
        remaining = rest
    return out


# ----------------------------------------------------------------------------------------------------------
# BlazeFace (short range)
# ----------------------------------------------------------------------------------------------------------

FACE_KEYPOINTS = ("right_eye", "left_eye", "nose_tip", "mouth_centre", "right_ear_tragion", "left_ear_tragion")
"""BlazeFace keypoints; "right" is the subject's right (the eye on the image's left)."""


@dataclass(frozen=True, eq=False)
class MpFace:
    bbox: tuple[float, float, float, float]
    score: float
    keypoints: np.ndarray = field(repr=False)
    """6 x 2 pixels, in ``FACE_KEYPOINTS`` order."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "bbox": [round(v, 2) for v in self.bbox],
            "score": round(self.score, 4),
            "keypoints": {
                k: [round(float(x), 2), round(float(y), 2)]
                for k, (x, y) in zip(FACE_KEYPOINTS, self.keypoints, strict=True)
            },
        }


@register_pipeline
class BlazeFacePipeline(Pipeline[Any, tuple[np.ndarray, Letterbox, tuple[int, int]], list[MpFace]]):
    """Image → faces (BlazeFace short range: faces within about 2 m of the camera, i.e. not tiny)."""

    model_name = "mediapipe-face-detection"
    max_batch_size = 8
    input_size = 128
    min_score = 0.5

    def __init__(self, model_dir: Path, settings: Settings) -> None:
        super().__init__(model_dir, settings)
        self._interp = _interpreter(model_dir / "face_detection_short_range.tflite", settings)
        outs = {d["name"]: d["index"] for d in self._interp.get_output_details()}
        self._in = self._interp.get_input_details()[0]["index"]
        self._reg, self._cls = outs["regressors"], outs["classificators"]
        self._anchors = ssd_anchor_centres(self.input_size, (8, 16, 16, 16))
        self._lock = threading.Lock()

    def preprocess(self, item: Any) -> tuple[np.ndarray, Letterbox, tuple[int, int]]:
        image = as_rgb_array(item)
        boxed, lb = letterbox(image, self.input_size)
        x = boxed.astype(np.float32) / 127.5 - 1.0
        return x[None], lb, image.shape[:2]

    def forward(
        self, batch: Sequence[tuple[np.ndarray, Letterbox, tuple[int, int]]]
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        out = []
        with self._lock:
            for x, _, _ in batch:
                self._interp.set_tensor(self._in, x)
                self._interp.invoke()
                out.append((self._interp.get_tensor(self._reg)[0].copy(), self._interp.get_tensor(self._cls)[0].copy()))
        return out

    def postprocess(self, raw: tuple[np.ndarray, np.ndarray], item: Any, pre: Any) -> list[MpFace]:
        _, lb, shape = pre
        dets = weighted_nms(_decode(raw[0], raw[1], self._anchors, self.input_size, 6, self.min_score))
        return _faces_in_image(dets, lb, shape)


def _faces_in_image(dets: Sequence[_Detection], lb: Letterbox, shape: tuple[int, int]) -> list[MpFace]:
    """Detections in model-input coordinates → ``MpFace`` in image pixels (boxes clipped to the image)."""
    h, w = shape
    faces = []
    for d in dets:
        corners = lb.to_image(d.box.reshape(2, 2))
        x0, y0 = max(0.0, corners[0, 0]), max(0.0, corners[0, 1])
        x1, y1 = min(float(w), corners[1, 0]), min(float(h), corners[1, 1])
        if x1 - x0 < 1 or y1 - y0 < 1:
            continue
        faces.append(MpFace((float(x0), float(y0), float(x1), float(y1)), d.score, lb.to_image(d.keypoints)))
    return faces


FULL_RANGE_FILE = "face_detection_full_range_sparse.tflite"


class FullRangeFaceDetector:
    """BlazeFace full range (faces up to about 5 m from the camera, small and turned ones): image → ``MpFace``.

    The options are those of MediaPipe's ``face_detection_full_range.pbtxt``: 192 x 192 input, one SSD layer
    of stride 4 with one fixed-size anchor per cell (2304 anchors), 6 keypoints, weighted NMS at IoU 0.3.
    Not a registered pipeline: the face pipeline (``dlib-face``) owns it and serialises the calls.
    """

    input_size = 192
    min_score = 0.5

    def __init__(self, path: Path, settings: Settings) -> None:
        self._interp = _interpreter(path, settings)
        outs = [d["index"] for d in sorted(self._interp.get_output_details(), key=lambda d: d["shape"][-1])]
        self._in = self._interp.get_input_details()[0]["index"]
        # Two outputs: scores (1 x 2304 x 1) and regressors (1 x 2304 x 16); told apart by their last axis.
        self._cls, self._reg = outs
        self._anchors = ssd_anchor_centres(self.input_size, (4,), per_layer=1)

    def __call__(self, image: np.ndarray) -> list[MpFace]:
        """Faces in an RGB uint8 image, best score first (not thread-safe: the caller holds a lock)."""
        boxed, lb = letterbox(image, self.input_size)
        self._interp.set_tensor(self._in, (boxed.astype(np.float32) / 127.5 - 1.0)[None])
        self._interp.invoke()
        reg = self._interp.get_tensor(self._reg)[0]
        cls = self._interp.get_tensor(self._cls)[0]
        dets = weighted_nms(_decode(reg, cls, self._anchors, self.input_size, 6, self.min_score))
        return _faces_in_image(dets, lb, image.shape[:2])


# ----------------------------------------------------------------------------------------------------------
# Face mesh (468 points)
# ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FaceRoi:
    """Where a face is: a box [xmin, ymin, xmax, ymax] and, when known, both eye centres (for the rotation)."""

    bbox: tuple[float, float, float, float]
    eye_image_left: tuple[float, float] | None = None
    eye_image_right: tuple[float, float] | None = None

    @classmethod
    def of(cls, face: Any) -> FaceRoi:
        """From a dlib ``Face``, a BlazeFace ``MpFace``, a ``FaceRoi`` or a bare box."""
        if isinstance(face, FaceRoi):
            return face
        if isinstance(face, Face):
            left, right = face.eyes
            return cls(face.bbox, left, right)
        if isinstance(face, MpFace):
            kp = face.keypoints
            return cls(face.bbox, (float(kp[0][0]), float(kp[0][1])), (float(kp[1][0]), float(kp[1][1])))
        x0, y0, x1, y1 = (float(v) for v in face)
        return cls((x0, y0, x1, y1))

    def roi(self, scale: float) -> Roi:
        """DetectionsToRects (rotation from the eyes, target 0°) + RectTransformation (scale, square_long)."""
        x0, y0, x1, y1 = self.bbox
        rotation = 0.0
        if self.eye_image_left is not None and self.eye_image_right is not None:
            rotation = _rotation(self.eye_image_left, self.eye_image_right, 0.0)
        return Roi((x0 + x1) / 2, (y0 + y1) / 2, max(x1 - x0, y1 - y0) * scale, rotation)


@dataclass(frozen=True)
class FaceMeshRequest:
    """An image and its faces (dlib ``Face``, BlazeFace ``MpFace``, ``FaceRoi`` or boxes); None: one face filling it."""

    image: Any
    faces: Sequence[Any] | None = None


@dataclass(frozen=True, eq=False)
class FaceMesh:
    points: np.ndarray = field(repr=False)
    """468 x 3: x, y in image pixels, z relative depth on the same pixel scale (smaller is nearer)."""
    score: float
    """Face presence probability from the model."""
    roi: Roi

    def to_dict(self) -> dict[str, Any]:
        return {"score": round(self.score, 4), "points": np.round(self.points, 2).tolist()}


# Eye corners used by MediaPipe's face_landmarks_to_roi (start 33, end 263: the eye on the image's left, then right).
_MESH_EYE_LEFT, _MESH_EYE_RIGHT = 33, 263


@register_pipeline
class FaceMeshPipeline(Pipeline[Any, tuple[np.ndarray, list[Roi]], list[FaceMesh]]):
    """(image, faces) → one 468-point ``FaceMesh`` per face.

    A first pass runs on the ROI from the given face (box scaled by 1.5 around its centre, rotated by the eye
    line); a second pass re-crops on the ROI from the first pass's landmarks (as MediaPipe's tracking does),
    which makes the result independent of which detector drew the box.
    """

    model_name = "mediapipe-face-landmark"
    max_batch_size = 8
    input_size = 192
    roi_scale = 1.5
    refine_passes = 1

    def __init__(self, model_dir: Path, settings: Settings) -> None:
        super().__init__(model_dir, settings)
        self._interp = _interpreter(model_dir / "face_landmark.tflite", settings)
        outs = {d["name"]: d["index"] for d in self._interp.get_output_details()}
        self._in = self._interp.get_input_details()[0]["index"]
        self._points, self._flag = outs["conv2d_21"], outs["conv2d_31"]
        self._lock = threading.Lock()

    def preprocess(self, item: Any) -> tuple[np.ndarray, list[Roi]]:
        req = item if isinstance(item, FaceMeshRequest) else FaceMeshRequest(item)
        image = as_rgb_array(req.image)
        if req.faces is None:
            h, w = image.shape[:2]
            rois = [Roi(w / 2, h / 2, float(max(w, h)))]
        else:
            rois = [FaceRoi.of(f).roi(self.roi_scale) for f in req.faces]
        return image, rois

    def _run(self, image: np.ndarray, roi: Roi) -> tuple[np.ndarray, float]:
        x = roi.crop(image, self.input_size).astype(np.float32) / 255.0
        self._interp.set_tensor(self._in, x[None])
        self._interp.invoke()
        raw = self._interp.get_tensor(self._points).reshape(468, 3).astype(np.float64)
        score = float(_sigmoid(self._interp.get_tensor(self._flag).reshape(-1))[0])
        xy = roi.to_image(raw[:, :2] / self.input_size)
        z = raw[:, 2] / self.input_size * roi.size
        return np.column_stack([xy, z]), score

    def presence(self, image: np.ndarray, face: Any) -> float:
        """The model's face-presence probability on the ROI of one detected face (one pass, no refinement).

        MediaPipe's face mesh graph uses this flag to drop lost faces; here it confirms a detector's box.
        """
        with self._lock:
            return self._run(image, FaceRoi.of(face).roi(self.roi_scale))[1]

    @staticmethod
    def _roi_from_points(points: np.ndarray, scale: float) -> Roi:
        """face_landmarks_to_roi: rotation from the eye corners, box of the points in the rotated frame."""
        rotation = _rotation(points[_MESH_EYE_LEFT, :2], points[_MESH_EYE_RIGHT, :2], 0.0)
        c, s = math.cos(-rotation), math.sin(-rotation)
        xy = points[:, :2]
        centre = (xy.min(axis=0) + xy.max(axis=0)) / 2
        rel = xy - centre
        rx = c * rel[:, 0] - s * rel[:, 1]
        ry = s * rel[:, 0] + c * rel[:, 1]
        cx, cy = (rx.min() + rx.max()) / 2, (ry.min() + ry.max()) / 2
        cr, sr = math.cos(rotation), math.sin(rotation)
        centre = centre + np.array([cr * cx - sr * cy, sr * cx + cr * cy])
        side = max(rx.max() - rx.min(), ry.max() - ry.min()) * scale
        return Roi(float(centre[0]), float(centre[1]), float(side), rotation)

    def forward(self, batch: Sequence[tuple[np.ndarray, list[Roi]]]) -> list[list[tuple[np.ndarray, float, Roi]]]:
        out = []
        with self._lock:
            for image, rois in batch:
                meshes = []
                for roi in rois:
                    points, score = self._run(image, roi)
                    for _ in range(self.refine_passes):
                        if score < 0.5:
                            break
                        roi = self._roi_from_points(points, self.roi_scale)
                        points, score = self._run(image, roi)
                    meshes.append((points, score, roi))
                out.append(meshes)
        return out

    def postprocess(self, raw: list[tuple[np.ndarray, float, Roi]], item: Any, pre: Any) -> list[FaceMesh]:
        return [FaceMesh(points.astype(np.float32), score, roi) for points, score, roi in raw]


# ----------------------------------------------------------------------------------------------------------
# Selfie segmentation
# ----------------------------------------------------------------------------------------------------------


@register_pipeline
class SelfieSegmentationPipeline(Pipeline[Any, tuple[np.ndarray, tuple[int, int]], np.ndarray]):
    """Image → person probability mask (H x W float32 in [0, 1], at the image's size).

    The general model (256 x 256): the image is stretched to the input (no letterbox, as MediaPipe's graph),
    values in [0, 1]; the model's output is already a sigmoid probability.
    """

    model_name = "mediapipe-selfie-segmentation"
    max_batch_size = 8
    input_size = 256

    def __init__(self, model_dir: Path, settings: Settings) -> None:
        super().__init__(model_dir, settings)
        self._interp = _interpreter(model_dir / "selfie_segmentation.tflite", settings)
        self._in = self._interp.get_input_details()[0]["index"]
        self._out = self._interp.get_output_details()[0]["index"]
        self._lock = threading.Lock()

    def preprocess(self, item: Any) -> tuple[np.ndarray, tuple[int, int]]:
        import cv2

        image = as_rgb_array(item)
        x = cv2.resize(image, (self.input_size, self.input_size), interpolation=cv2.INTER_AREA)
        return (x.astype(np.float32) / 255.0)[None], image.shape[:2]

    def forward(self, batch: Sequence[tuple[np.ndarray, tuple[int, int]]]) -> list[np.ndarray]:
        out = []
        with self._lock:
            for x, _ in batch:
                self._interp.set_tensor(self._in, x)
                self._interp.invoke()
                out.append(self._interp.get_tensor(self._out)[0, :, :, 0].copy())
        return out

    def postprocess(self, raw: np.ndarray, item: Any, pre: tuple[np.ndarray, tuple[int, int]]) -> np.ndarray:
        import cv2

        h, w = pre[1]
        mask = cv2.resize(raw.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
        return np.clip(mask, 0.0, 1.0)


# ----------------------------------------------------------------------------------------------------------
# Pose (BlazePose detector + full landmark model)
# ----------------------------------------------------------------------------------------------------------

POSE_LANDMARKS = (
    "nose",
    "left_eye_inner",
    "left_eye",
    "left_eye_outer",
    "right_eye_inner",
    "right_eye",
    "right_eye_outer",
    "left_ear",
    "right_ear",
    "mouth_left",
    "mouth_right",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_pinky",
    "right_pinky",
    "left_index",
    "right_index",
    "left_thumb",
    "right_thumb",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "left_heel",
    "right_heel",
    "left_foot_index",
    "right_foot_index",
)
"""The 33 BlazePose landmarks; left/right are the subject's."""


@dataclass(frozen=True, eq=False)
class Pose:
    landmarks: np.ndarray = field(repr=False)
    """33 x 5: x, y (image pixels), z (depth relative to the hips, same pixel scale), visibility, presence."""
    score: float
    """Pose presence from the landmark model."""
    detection_score: float
    roi: Roi

    def point(self, name: str) -> np.ndarray:
        return self.landmarks[POSE_LANDMARKS.index(name)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": round(self.score, 4),
            "detection_score": round(self.detection_score, 4),
            "landmarks": {
                name: {
                    "x": round(float(r[0]), 2),
                    "y": round(float(r[1]), 2),
                    "z": round(float(r[2]), 2),
                    "visibility": round(float(r[3]), 4),
                }
                for name, r in zip(POSE_LANDMARKS, self.landmarks, strict=True)
            },
        }


def refine_from_heatmap(xy_norm: np.ndarray, heatmap: np.ndarray, kernel: int = 7, min_conf: float = 0.5) -> np.ndarray:
    """RefineLandmarksFromHeatmapCalculator: score-weighted mean position in a window of the sigmoid heatmap."""
    hh, hw, n = heatmap.shape
    out = xy_norm.copy()
    offset = (kernel - 1) // 2
    for i in range(min(n, len(xy_norm))):
        cx, cy = int(xy_norm[i, 0] * hw), int(xy_norm[i, 1] * hh)
        if not (0 <= cx < hw and 0 <= cy < hh):
            continue
        y0, y1 = max(0, cy - offset), min(hh, cy + offset + 1)
        x0, x1 = max(0, cx - offset), min(hw, cx + offset + 1)
        conf = _sigmoid(heatmap[y0:y1, x0:x1, i].astype(np.float64))
        total = conf.sum()
        if conf.max() < min_conf or total <= 0:
            continue
        ys, xs = np.mgrid[y0:y1, x0:x1]
        out[i, 0] = float((conf * xs).sum() / total / hw)
        out[i, 1] = float((conf * ys).sum() / total / hh)
    return out


@register_pipeline
class PosePipeline(Pipeline[Any, np.ndarray, Pose | None]):
    """Image → the most confident person's 33 landmarks, or None when no person is found."""

    model_name = "mediapipe-pose"
    max_batch_size = 4
    detector_size = 224
    landmark_size = 256
    min_detection_score = 0.5
    min_pose_score = 0.5

    def __init__(self, model_dir: Path, settings: Settings) -> None:
        super().__init__(model_dir, settings)
        self._det = _interpreter(model_dir / "pose_detection.tflite", settings)
        self._det_in = self._det.get_input_details()[0]["index"]
        det_outs = sorted(self._det.get_output_details(), key=lambda d: int(d["shape"][-1]), reverse=True)
        self._det_reg, self._det_cls = det_outs[0]["index"], det_outs[1]["index"]
        self._lm = _interpreter(model_dir / "pose_landmark_full.tflite", settings)
        self._lm_in = self._lm.get_input_details()[0]["index"]
        by_name = {d["name"]: d["index"] for d in self._lm.get_output_details()}
        # tensors: landmarks (195), pose flag (1), segmentation, heatmap (64 x 64 x 39), world landmarks (117).
        self._lm_points, self._lm_flag = by_name["Identity"], by_name["Identity_1"]
        self._lm_heatmap = by_name["Identity_3"]
        self._anchors = ssd_anchor_centres(self.detector_size, (8, 16, 32, 32, 32))
        self._lock = threading.Lock()

    def preprocess(self, item: Any) -> np.ndarray:
        return as_rgb_array(item)

    def _detect(self, image: np.ndarray) -> tuple[Roi, float] | None:
        boxed, lb = letterbox(image, self.detector_size)
        self._det.set_tensor(self._det_in, (boxed.astype(np.float32) / 127.5 - 1.0)[None])
        self._det.invoke()
        reg = self._det.get_tensor(self._det_reg)[0]
        cls = self._det.get_tensor(self._det_cls)[0]
        dets = weighted_nms(_decode(reg, cls, self._anchors, self.detector_size, 4, self.min_detection_score))
        if not dets:
            return None
        best = max(dets, key=lambda d: d.score)
        kps = lb.to_image(best.keypoints)
        # AlignmentPointsRects: centre = mid-hip (kp 0), side = 2 x distance to kp 1; rotation target 90°;
        # then RectTransformation scale 1.25, square.
        hip, scale_pt = kps[0], kps[1]
        side = 2.0 * float(np.hypot(*(scale_pt - hip))) * 1.25
        return Roi(float(hip[0]), float(hip[1]), side, _rotation(hip, scale_pt, 90.0)), best.score

    def _landmarks(self, image: np.ndarray, roi: Roi) -> tuple[np.ndarray, float]:
        x = roi.crop(image, self.landmark_size).astype(np.float32) / 255.0
        self._lm.set_tensor(self._lm_in, x[None])
        self._lm.invoke()
        raw = self._lm.get_tensor(self._lm_points).reshape(39, 5).astype(np.float64)
        flag = float(self._lm.get_tensor(self._lm_flag).reshape(-1)[0])
        heatmap = self._lm.get_tensor(self._lm_heatmap)[0]
        xy = refine_from_heatmap(raw[:, :2] / self.landmark_size, heatmap)
        pts = roi.to_image(xy)
        z = raw[:, 2] / self.landmark_size * roi.size
        vis, pres = _sigmoid(raw[:, 3]), _sigmoid(raw[:, 4])
        return np.column_stack([pts, z, vis, pres])[:33], flag

    def forward(self, batch: Sequence[np.ndarray]) -> list[tuple[np.ndarray, float, float, Roi] | None]:
        out: list[tuple[np.ndarray, float, float, Roi] | None] = []
        with self._lock:
            for image in batch:
                found = self._detect(image)
                if found is None:
                    out.append(None)
                    continue
                roi, det_score = found
                landmarks, flag = self._landmarks(image, roi)
                out.append((landmarks, flag, det_score, roi))
        return out

    def postprocess(self, raw: tuple[np.ndarray, float, float, Roi] | None, item: Any, pre: np.ndarray) -> Pose | None:
        if raw is None:
            return None
        landmarks, flag, det_score, roi = raw
        if flag < self.min_pose_score:
            return None
        return Pose(landmarks.astype(np.float32), flag, det_score, roi)
