"""Age and gender on the dlib-aligned faces of the shared photos (all adults)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from medialens.models.pipelines.age_gender import AgeGenderRequest
from tests.conftest import FACE_FILES, MEDIA
from tests.support import load_pipelines


@pytest.fixture(scope="module")
def pipes():
    return load_pipelines("dlib-face", "age-gender")


def test_adult_ages_and_gender_distributions(pipes):
    faces_pipe, ag = pipes
    ages = {}
    for file in FACE_FILES:
        image = Image.open(MEDIA / file)
        faces = faces_pipe(image)
        results = ag(AgeGenderRequest(image, faces))
        assert len(results) == len(faces) >= 1
        for i, r in enumerate(results):
            assert r.age_distribution.shape == (81,)
            assert abs(float(r.age_distribution.sum()) - 1) < 1e-4
            assert set(r.gender_probs) == {"female", "male"}
            assert abs(sum(r.gender_probs.values()) - 1) < 1e-4
            assert r.gender == max(r.gender_probs, key=r.gender_probs.__getitem__)
            ages[f"{file}#{i}"] = (round(r.age, 1), r.gender)
    print(ages)
    # every face in these photos is an adult (actors and a musician photographed at work)
    assert all(18 <= age <= 65 for age, _ in ages.values()), ages


def test_landmark_lists_equal_face_objects(pipes):
    faces_pipe, ag = pipes
    image = np.asarray(Image.open(MEDIA / "image/face_rose_leslie_kit_harington.jpg").convert("RGB"))
    faces = faces_pipe(image)
    by_face = ag(AgeGenderRequest(image, faces))
    by_points = ag(AgeGenderRequest(image, [f.landmarks for f in faces]))
    for a, b in zip(by_face, by_points, strict=True):
        assert a.age == pytest.approx(b.age) and a.gender_probs == pytest.approx(b.gender_probs)
    assert ag(AgeGenderRequest(image, [])) == []
    batched = ag.run_batch([AgeGenderRequest(image, faces), AgeGenderRequest(image, faces[:1])])
    assert [len(r) for r in batched] == [len(faces), 1]
    assert batched[1][0].age == pytest.approx(by_face[0].age, abs=1e-4)
