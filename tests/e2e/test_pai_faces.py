"""FaceAttrImage (general and fairface) through the official ai-service-python-sdk 1.1.5, against tests/media."""

from __future__ import annotations

import json

import numpy as np
import pytest
from ai_service_python_sdk.client.api.ai_service_image_api import AiServiceImageApi
from ai_service_python_sdk.client.rest import ApiException

from tests.conftest import LABELS, MEDIA
from tests.models.test_face_attributes import SEED_ORDER

SINGLE_FACES = ["face_alex_lacamoire_a.jpg", "face_kit_harington_c.jpg", "face_rose_leslie_b.jpg"]
SEED_GROUPS = {
    **{group: set(keys) for group, keys in SEED_ORDER.items() if group != "FemaleHairStyle"},
    "MaleHairStyle": {
        "Side part",
        "Buzz cut",
        "Crew cut",
        "Flat top",
        "Induction cut",
        "Textured crop",
        "Tousled",
        "Slicked back",
        "Mohawk",
    },
}
FEMALE_KEYS = set(SEED_ORDER["FemaleHairStyle"])
AGE_BUCKETS = {"0-2", "3-9", "10-19", "20-29", "30-39", "40-49", "50-59", "60-69", "70+"}


def _faces(pai, name: str) -> list[dict]:
    response = AiServiceImageApi(pai).face_attr_image(f"{pai.media_url}/shared/image/{name}", "", {})
    assert response.code == "OK"
    return response.data["attr"]


@pytest.fixture
def client(pai, media_url):
    pai.media_url = media_url
    return pai


def test_face_attributes_have_the_seed_shape(client) -> None:
    seen: dict[str, list[float]] = {}
    for name in SINGLE_FACES:
        faces = _faces(client, name)
        assert len(faces) == LABELS[f"image/{name}"]["truth"]["faces"] == 1
        face = faces[0]
        width, height = LABELS[f"image/{name}"]["meta"]["width"], LABELS[f"image/{name}"]["meta"]["height"]
        x0, y0, x1, y1 = face["bbox"]
        assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height and min(x1 - x0, y1 - y0) >= 100
        assert face["index"] == 0 and face["face_score"] > 0
        for group, keys in SEED_GROUPS.items():
            assert set(face[group]) == keys and abs(sum(face[group].values()) - 1) < 0.01
            for k, v in face[group].items():
                seen.setdefault(f"{group}.{k}", []).append(v)
        assert set(face["FemaleHairStyle"]) == FEMALE_KEYS
    constant = [k for k, values in seen.items() if len(set(values)) == 1]
    assert not constant, f"constant keys across photos: {constant}"


def test_no_face_is_an_empty_list(client) -> None:
    assert _faces(client, "skimage_moon.png") == []


def test_long_and_short_hair_tell_the_people_apart(client) -> None:
    rose = _faces(client, "face_rose_leslie_b.jpg")[0]["FemaleHairStyle"]["FemaleLongShortHair"]
    alex = _faces(client, "face_alex_lacamoire_a.jpg")[0]["FemaleHairStyle"]["FemaleLongShortHair"]
    assert rose["Long"] > alex["Long"] and alex["Short"] > rose["Short"]


def test_fairface_age_range(client) -> None:
    ranges = []
    for name in SINGLE_FACES:
        data = AiServiceImageApi(client).face_attr_image(f"{client.media_url}/shared/image/{name}", "fairface", {}).data
        assert set(data) == {"age_range", "age_range_prob"} and data["age_range"] in AGE_BUCKETS
        assert 0 < data["age_range_prob"] <= 1
        ranges.append(data["age_range"])
    assert all(r in {"20-29", "30-39", "40-49", "50-59"} for r in ranges), ranges  # adults
    with pytest.raises(ApiException) as exc:
        AiServiceImageApi(client).face_attr_image(f"{client.media_url}/shared/image/skimage_moon.png", "fairface", {})
    assert exc.value.status == 422 and json.loads(exc.value.body)["message"] == "no face found"


def test_face_embeddings_separate_identities() -> None:
    """The identity model behind the face analyses: same person closer than different people on every pair."""
    from PIL import Image

    from medialens.config import Settings
    from medialens.models.loader import get_pipeline
    from tests.support import ensure_models

    faces = get_pipeline("dlib-face", Settings(model_dir=ensure_models("dlib-face")))
    people = {}
    for rec in LABELS.values():
        if rec["file"].startswith("image/face_") and rec["truth"].get("faces") == 1:
            found = faces(np.asarray(Image.open(MEDIA / rec["file"]).convert("RGB")))
            assert len(found) == 1
            people[rec["file"]] = (rec["truth"]["persons"][0], np.asarray(found[0].embedding))
    same, different = [], []
    names = sorted(people)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            d = float(np.linalg.norm(people[a][1] - people[b][1]))
            (same if people[a][0] == people[b][0] else different).append(d)
    assert same and different and max(same) < min(different), (max(same), min(different))
