"""dlib faces on the shared photos: counts against labels.json, landmarks, and embeddings that separate people."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from PIL import Image

from medialens.config import Settings
from medialens.models.pipelines import pipeline_class
from medialens.models.pipelines.faces import SAME_PERSON_DISTANCE, Face, FaceRequest, as_rgb_array, face_distance
from tests.conftest import FACE_FILES, LABELS, MEDIA
from tests.support import ensure_models

COUNTED = sorted(f for f in FACE_FILES if "faces" in LABELS[f]["truth"])


@pytest.fixture(scope="module")
def pipe():
    d = ensure_models("dlib-face") / "dlib-face"
    return pipeline_class("dlib-face")(d, Settings())


@pytest.fixture(scope="module")
def results(pipe) -> dict[str, list[Face]]:
    return {f: pipe(Image.open(MEDIA / f)) for f in FACE_FILES}


def test_face_photos_are_labelled():
    assert len(COUNTED) >= 6
    assert any("persons_left_to_right" in LABELS[f]["truth"] for f in FACE_FILES)


@pytest.mark.parametrize("file", FACE_FILES)
def test_face_count_matches_labels(results, file):
    truth = LABELS[file]["truth"]
    faces = results[file]
    if "faces" in truth:
        assert len(faces) == truth["faces"], [f.bbox for f in faces]
    else:
        assert len(faces) >= truth["faces_min"]


def test_face_geometry(results):
    for file, faces in results.items():
        h, w = as_rgb_array(Image.open(MEDIA / file)).shape[:2]
        for face in faces:
            x0, y0, x1, y1 = face.bbox
            assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
            assert face.score > 0 and face.detector == "hog"
            assert len(face.landmarks) == 5
            pts = np.array(face.landmarks)
            # landmarks lie in (or just around) the box: eyes in its upper part, the nose below the eyes
            assert ((pts[:, 0] >= x0 - 0.1 * (x1 - x0)) & (pts[:, 0] <= x1 + 0.1 * (x1 - x0))).all()
            left, right = face.eyes
            assert left[0] < right[0]
            assert pts[4, 1] > max(left[1], right[1])
            assert face.embedding is not None and face.embedding.shape == (128,)
            assert face.embedding.dtype == np.float32
            assert abs(float(np.linalg.norm(face.embedding_unit)) - 1) < 1e-5


def _identities(results) -> list[tuple[str, str, np.ndarray]]:
    """(person, source, embedding) for every single-face photo and the faces of the group photo, left to right."""
    out = []
    for file, faces in results.items():
        truth = LABELS[file]["truth"]
        if truth.get("faces") == 1:
            out.append((truth["persons"][0], file, faces[0].embedding))
        elif "persons_left_to_right" in truth:
            names = truth["persons_left_to_right"]
            largest = sorted(faces, key=lambda f: (f.bbox[2] - f.bbox[0]) * (f.bbox[3] - f.bbox[1]))[-len(names) :]
            for name, face in zip(names, sorted(largest, key=lambda f: f.bbox[0]), strict=True):
                out.append((name, f"{file}#{name}", face.embedding))
    return out


def test_same_person_closer_than_different_people(results):
    ids = _identities(results)
    assert len({p for p, _, _ in ids}) >= 3
    same, diff = [], []
    for (pa, fa, ea), (pb, fb, eb) in itertools.combinations(ids, 2):
        (same if pa == pb else diff).append((face_distance(ea, eb), fa, fb))
    assert same and diff
    worst_same, closest_diff = max(same), min(diff)
    print(f"max same-person distance {worst_same}, min different-person distance {closest_diff}")
    assert worst_same[0] < closest_diff[0]
    # and on the right side of dlib's own decision threshold
    assert worst_same[0] < SAME_PERSON_DISTANCE < closest_diff[0]


def test_no_faces_on_moon(pipe):
    assert pipe(Image.open(MEDIA / "image/skimage_moon.png")) == []


def test_cnn_detector_finds_half_turned_face(pipe):
    """HOG misses the cameraman (face turned to the camera's eyepiece); the CNN detector finds exactly one."""
    file = "image/skimage_cameraman.png"
    faces = pipe(FaceRequest(Image.open(MEDIA / file), detector="cnn"))
    assert len(faces) == LABELS[file]["truth"]["faces"]
    assert faces[0].detector == "cnn" and faces[0].embedding is not None


def test_input_forms_and_options(pipe):
    img = Image.open(MEDIA / "image/face_kit_harington_b.jpeg")
    arr = np.asarray(img.convert("RGB"))
    a = pipe(arr)
    b = pipe(FaceRequest(img, embed=False))
    grey = pipe(np.asarray(img.convert("L")))
    assert len(a) == len(b) == len(grey) == 1
    assert b[0].embedding is None and a[0].bbox == b[0].bbox
    assert face_distance(a[0], grey[0]) < SAME_PERSON_DISTANCE
    batch = pipe.run_batch([arr, arr[:, ::-1].copy()])
    assert [len(r) for r in batch] == [1, 1]
    with pytest.raises(ValueError):
        pipe(FaceRequest(arr, detector="nope"))  # type: ignore[arg-type]
