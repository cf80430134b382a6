"""MediaPipe models on LiteRT: BlazeFace, face mesh, selfie segmentation and pose on the shared photos."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

from medialens.config import Settings
from medialens.models.pipelines import pipeline_class
from medialens.models.pipelines.mediapipe_models import (
    FaceMeshRequest,
    FaceRoi,
    Roi,
    letterbox,
    ssd_anchor_centres,
)
from tests.conftest import FACE_FILES, LABELS, MEDIA
from tests.support import ensure_models

SINGLE_FACE = [f for f in FACE_FILES if LABELS[f]["truth"].get("faces") == 1]
MOON = "image/skimage_moon.png"
CAMERAMAN = "image/skimage_cameraman.png"
NAMES = (
    "mediapipe-face-detection",
    "mediapipe-face-landmark",
    "mediapipe-selfie-segmentation",
    "mediapipe-pose",
)


def _load(file: str) -> np.ndarray:
    return np.asarray(Image.open(MEDIA / file).convert("RGB"))


@pytest.fixture(scope="module")
def mp():
    root = ensure_models(*NAMES)
    settings = Settings()
    return {name: pipeline_class(name)(root / name, settings) for name in NAMES}


# ---- geometry, no model -----------------------------------------------------------------------------------


def test_anchor_counts_match_the_models():
    assert len(ssd_anchor_centres(128, (8, 16, 16, 16))) == 896
    assert len(ssd_anchor_centres(224, (8, 16, 32, 32, 32))) == 2254
    assert len(ssd_anchor_centres(192, (4,), per_layer=1)) == 2304  # full-range face detector: 48 x 48 cells
    a = ssd_anchor_centres(128, (8, 16, 16, 16))
    assert tuple(a[0]) == pytest.approx((0.5 / 16, 0.5 / 16)) and tuple(a[-1]) == pytest.approx((7.5 / 8, 7.5 / 8))


def test_letterbox_maps_back_to_the_image():
    img = np.zeros((100, 300, 3), np.uint8)
    boxed, lb = letterbox(img, 150)
    assert boxed.shape == (150, 150, 3)
    # scaled by 0.5 to 150 x 50 and centred: the bottom-right corner sits at x = 1, y = (50 + 50) / 150
    assert lb.to_image(np.array([[1.0, 100 / 150]])) == pytest.approx(np.array([[300.0, 100.0]]))


@pytest.mark.parametrize("rotation", [0.0, 0.4, -1.2])
def test_rotated_roi_crop_and_projection_agree(rotation):
    img = np.zeros((200, 300, 3), np.uint8)
    img[118:123, 178:183] = 255  # a dot centred on (180.5, 120.5) in continuous pixel coordinates
    roi = Roi(150.0, 100.0, 120.0, rotation)
    crop = roi.crop(img, 96).astype(np.float64)[:, :, 0]
    ys, xs = np.nonzero(crop > 0)
    w = crop[ys, xs]
    centre = np.array([[(xs * w).sum() / w.sum() + 0.5, (ys * w).sum() / w.sum() + 0.5]]) / 96
    back = roi.to_image(centre)[0]
    assert math.dist(back, (180.5, 120.5)) < 1.5


def test_face_roi_rotation_follows_the_eyes():
    level = FaceRoi((0, 0, 100, 100), (30.0, 40.0), (70.0, 40.0)).roi(1.5)
    assert level.rotation == pytest.approx(0.0) and level.size == pytest.approx(150.0)
    tilted = FaceRoi((0, 0, 100, 100), (30.0, 30.0), (70.0, 70.0)).roi(1.5)
    assert tilted.rotation == pytest.approx(math.pi / 4)


# ---- BlazeFace ---------------------------------------------------------------------------------------------


def test_blazeface_counts(mp):
    det = mp["mediapipe-face-detection"]
    for file in [*SINGLE_FACE, CAMERAMAN, MOON]:
        faces = det(_load(file))
        assert len(faces) == LABELS[file]["truth"]["faces"], (file, [f.bbox for f in faces])
        for f in faces:
            x0, y0, x1, y1 = f.bbox
            assert x0 < x1 and y0 < y1 and 0.5 <= f.score <= 1
            eye_l, eye_r, nose = f.keypoints[0], f.keypoints[1], f.keypoints[2]
            assert eye_l[0] < nose[0] < eye_r[0]
            assert x0 <= nose[0] <= x1 and y0 <= nose[1] <= y1
    group = "image/face_rose_leslie_kit_harington.jpg"
    assert len(det(_load(group))) >= LABELS[group]["truth"]["faces_min"]


# ---- face mesh --------------------------------------------------------------------------------------------


def test_face_mesh_inside_the_face(mp):
    det, mesh = mp["mediapipe-face-detection"], mp["mediapipe-face-landmark"]
    inside_fracs = []
    for file in [*FACE_FILES, CAMERAMAN]:
        frontal = file != CAMERAMAN  # the cameraman's face is half turned
        img = _load(file)
        faces = det(img)
        meshes = mesh(FaceMeshRequest(img, faces))
        assert len(meshes) == len(faces)
        for face, m in zip(faces, meshes, strict=True):
            assert m.points.shape == (468, 3) and m.score > 0.5
            x0, y0, x1, y1 = face.bbox
            pad = 0.1 * (x1 - x0)
            p = m.points
            inside = (
                (p[:, 0] >= x0 - pad) & (p[:, 0] <= x1 + pad) & (p[:, 1] >= y0 - pad) & (p[:, 1] <= y1 + pad)
            ).mean()
            inside_fracs.append(inside)
            assert p[33, 0] < p[263, 0]  # outer eye corners: image left, image right
            if frontal:  # the nose tip (point 1) lies between them
                assert p[33, 0] < p[1, 0] < p[263, 0]
    print("mesh points inside the (10 % padded) face box:", np.round(inside_fracs, 3).tolist())
    assert min(inside_fracs) > 0.9


def test_face_mesh_from_dlib_faces_and_whole_crop(mp):
    mesh = mp["mediapipe-face-landmark"]
    ensure_models("dlib-face")
    faces_pipe = pipeline_class("dlib-face")(ensure_models("dlib-face") / "dlib-face", Settings())
    img = _load("image/face_rose_leslie_kit_harington.jpg")
    faces = faces_pipe(img)
    meshes = mesh(FaceMeshRequest(img, faces))
    for face, m in zip(faces, meshes, strict=True):
        x0, y0, x1, y1 = face.bbox
        p = m.points
        assert ((p[:, 0] >= x0) & (p[:, 0] <= x1) & (p[:, 1] >= y0) & (p[:, 1] <= y1)).mean() > 0.8
    # no faces given: the whole image is taken as one face crop
    x0, y0, x1, y1 = (int(v) for v in faces[0].bbox)
    side = x1 - x0
    crop = img[max(0, y0 - side // 4) : y1 + side // 4, max(0, x0 - side // 4) : x1 + side // 4]
    (whole,) = mesh(crop)
    assert whole.score > 0.5 and whole.points.shape == (468, 3)


# ---- selfie segmentation -------------------------------------------------------------------------------------


def test_selfie_segmentation_covers_people(mp):
    seg, det = mp["mediapipe-selfie-segmentation"], mp["mediapipe-face-detection"]
    for file in SINGLE_FACE:
        img = _load(file)
        mask = seg(img)
        h, w = img.shape[:2]
        assert mask.shape == (h, w) and mask.dtype == np.float32
        assert mask.min() >= 0.0 and mask.max() <= 1.0
        (face,) = det(img)
        x0, y0, x1, y1 = (int(v) for v in face.bbox)
        cx, cy, q = (x0 + x1) // 2, (y0 + y1) // 2, max(1, (x1 - x0) // 4)
        assert (mask[cy - q : cy + q, cx - q : cx + q] > 0.5).mean() > 0.3, file
        c = max(2, min(h, w) // 10)
        assert (mask[:c, :c] > 0.5).mean() < 0.5 and (mask[:c, -c:] > 0.5).mean() < 0.5, file
    assert (seg(_load(MOON)) > 0.5).mean() < 0.05


# ---- pose -----------------------------------------------------------------------------------------------------


def test_pose_on_portraits(mp):
    pose, det = mp["mediapipe-pose"], mp["mediapipe-face-detection"]
    for file in SINGLE_FACE:
        img = _load(file)
        h, w = img.shape[:2]
        p = pose(img)
        assert p is not None and p.landmarks.shape == (33, 5), file
        nose, ls, rs = p.point("nose"), p.point("left_shoulder"), p.point("right_shoulder")
        for pt in (nose, ls, rs):
            assert 0 <= pt[0] < w and 0 <= pt[1] < h, file
            assert pt[3] > 0.5  # visible
        (face,) = det(img)
        x0, y0, x1, y1 = face.bbox
        assert x0 <= nose[0] <= x1 and y0 <= nose[1] <= y1, file
        # a person facing the camera: shoulders below the nose, the subject's left shoulder on the image's right
        assert ls[1] > nose[1] and rs[1] > nose[1], file
        assert rs[0] < nose[0] < ls[0], file


def test_pose_on_cameraman_and_none_on_moon(mp):
    pose, det = mp["mediapipe-pose"], mp["mediapipe-face-detection"]
    img = _load(CAMERAMAN)
    p = pose(img)
    assert p is not None and p.score > 0.5
    (face,) = det(img)
    x0, y0, x1, y1 = face.bbox
    nose = p.point("nose")
    assert x0 <= nose[0] <= x1 and y0 <= nose[1] <= y1
    assert set(p.to_dict()["landmarks"]) >= {"nose", "left_shoulder", "right_ankle"}
    assert pose(_load(MOON)) is None
