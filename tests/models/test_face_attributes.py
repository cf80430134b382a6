"""Face attributes and age ranges on the shared photos: faces found and ordered, the seed's keys, probabilities
that depend on the image, hair colour that follows a recoloured hair region, adult age buckets."""

from __future__ import annotations

import json
import zlib
from typing import Any

import cv2
import numpy as np
import pytest
from PIL import Image

from medialens.analyses import face_attributes as fa
from medialens.analyses.face_attributes import (
    AGE_RANGES,
    BANGS_TYPES,
    CURLY_TYPES,
    FACE_SHAPES,
    HAIR_COLORS,
    HAIR_LENGTHS,
    HAIR_TYPES,
    MALE_STYLES,
    analyze_faces,
    estimate_age_range,
    hair_masks,
)
from medialens.analyses.face_attributes import analyze as fa_analyze
from medialens.analyses.face_attributes import clip_groups as fa_clip
from medialens.config import Settings
from medialens.models.loader import get_pipeline
from medialens.models.pipelines.faces import face_distance
from medialens.protocols.pai.format import face_attr
from medialens.tasks.base import UnprocessableError
from tests.conftest import MEDIA
from tests.support import ensure_models

PAIR = "face_rose_leslie_kit_harington.jpg"
SEED_KEYS: dict[str, tuple[str, ...]] = {
    "FaceShape": FACE_SHAPES,
    "HairColor": HAIR_COLORS,
    "MaleHairStyle": MALE_STYLES,
    "FemaleHairStyle.BangsType": BANGS_TYPES,
    "FemaleHairStyle.FemaleCurlyHairType": CURLY_TYPES,
    "FemaleHairStyle.FemaleHairType": HAIR_TYPES,
    "FemaleHairStyle.FemaleLongShortHair": HAIR_LENGTHS,
}
# The seed's sample response, key by key (order included).
SEED_ORDER = {
    "FaceShape": ["Triangle", "Round", "Heart", "Square", "Oval", "Diamond", "Oblong"],
    "HairColor": [
        "Other",
        "Coffee brown",
        "Silver gray",
        "Chestnut",
        "Brown",
        "Gradient",
        "Wine red",
        "Golden",
        "Yellow",
        "Black",
    ],
    "FemaleHairStyle": [
        "BangsType",
        "FemaleCurlyHairType",
        "FemaleHairType",
        "FemaleLongShortHair",
        "Tied hair",
        "Braided hair",
    ],
}


def _labels() -> dict[str, dict[str, Any]]:
    entries = json.loads((MEDIA / "labels.json").read_text(encoding="utf-8"))
    return {e["file"].split("/")[-1]: e.get("truth", {}) for e in entries}


LABELS = _labels()
SINGLE = sorted(n for n, t in LABELS.items() if n.startswith("face_") and t.get("faces") == 1)


@pytest.fixture(scope="module")
def settings() -> Settings:
    d = ensure_models("dlib-face", "age-gender", "mediapipe-face-landmark", "mediapipe-selfie-segmentation")
    return Settings(model_dir=d)


def load(name: str) -> Image.Image:
    path = MEDIA / "image" / name
    if not path.is_file():
        pytest.fail(f"test media not found: {path}")
    with Image.open(path) as im:
        im.load()
        return im.convert("RGB")


@pytest.fixture(scope="module")
def results(settings: Settings) -> dict[str, fa.FaceAttributesResult]:
    out = {name: analyze_faces(load(name), settings, use_clip=False) for name in SINGLE}
    out[PAIR] = analyze_faces(load(PAIR), settings, min_face=50, use_clip=False)
    return out


def test_single_face_photos(results: dict[str, fa.FaceAttributesResult]) -> None:
    assert len(SINGLE) >= 5
    for name in SINGLE:
        r = results[name]
        assert r.method == fa.METHOD_HEURISTIC
        assert len(r.faces) == LABELS[name]["faces"], name
        (face,) = r.faces
        x0, y0, x1, y1 = face.bbox
        assert all(isinstance(v, int) for v in face.bbox)
        assert 0 <= x0 < x1 <= r.width and 0 <= y0 < y1 <= r.height, (name, face.bbox)
        assert x1 - x0 >= 100 and y1 - y0 >= 100, (name, face.bbox)
        # a face, not the whole picture
        assert (x1 - x0) * (y1 - y0) < 0.5 * r.width * r.height, (name, face.bbox)
        assert face.index == 0 and face.face_score > 0


def test_pair_left_to_right_matches_identities(settings: Settings, results: dict[str, fa.FaceAttributesResult]) -> None:
    dlib_faces = get_pipeline("dlib-face", settings)
    refs: dict[str, list[np.ndarray]] = {}
    for name in SINGLE:
        (person,) = LABELS[name]["persons"]
        faces = dlib_faces.run_batch([load(name)])[0]
        refs.setdefault(person, []).append(faces[0].embedding)
    pair_faces = dlib_faces.run_batch([load(PAIR)])[0]
    faces = results[PAIR].faces
    assert len(faces) >= LABELS[PAIR]["faces_min"]
    assert [f.index for f in faces] == list(range(len(faces)))
    assert [(f.bbox[0] + f.bbox[2]) for f in faces] == sorted(f.bbox[0] + f.bbox[2] for f in faces)
    who = []
    for f in faces:
        # the dlib face whose box centre lies in this face's box
        match = [
            d
            for d in pair_faces
            if f.bbox[0] <= (d.bbox[0] + d.bbox[2]) / 2 <= f.bbox[2]
            and f.bbox[1] <= (d.bbox[1] + d.bbox[3]) / 2 <= f.bbox[3]
        ]
        assert len(match) == 1
        dist = {p: min(face_distance(match[0].embedding, e) for e in es) for p, es in refs.items()}
        who.append(min(dist, key=lambda p: dist[p]))
        assert dist[who[-1]] < 0.6, dist
    assert who == LABELS[PAIR]["persons_left_to_right"]


def test_min_face_filters_small_faces(settings: Settings) -> None:
    small = analyze_faces(load(PAIR), settings, use_clip=False)  # default min_face=100
    for f in small.faces:
        assert f.bbox[2] - f.bbox[0] >= 100 and f.bbox[3] - f.bbox[1] >= 100


@pytest.mark.parametrize("name", ["skimage_moon.png", "skimage_coins.png"])
def test_no_face(settings: Settings, name: str) -> None:
    r = analyze_faces(load(name), settings)
    assert r.faces == []


def _flat(face: fa.FaceAttributes) -> dict[str, float]:
    d = face_attr(face)
    out: dict[str, float] = {}
    for group in ("FaceShape", "HairColor", "MaleHairStyle"):
        out.update({f"{group}.{k}": v for k, v in d[group].items()})
    for sub, v in d["FemaleHairStyle"].items():
        if isinstance(v, dict):
            out.update({f"FemaleHairStyle.{sub}.{k}": x for k, x in v.items()})
        else:
            out[f"FemaleHairStyle.{sub}"] = v
    return out


def test_seed_keys_and_sums(results: dict[str, fa.FaceAttributesResult]) -> None:
    for name, r in results.items():
        for face in r.faces:
            d = face_attr(face)
            assert list(d["FaceShape"]) == SEED_ORDER["FaceShape"]
            assert list(d["HairColor"]) == SEED_ORDER["HairColor"]
            assert list(d["FemaleHairStyle"]) == SEED_ORDER["FemaleHairStyle"]
            assert set(d) == {
                "FaceShape",
                "FemaleHairStyle",
                "HairColor",
                "MaleHairStyle",
                "bbox",
                "face_score",
                "index",
            }
            for path, keys in SEED_KEYS.items():
                group: Any = d
                for part in path.split("."):
                    group = group[part]
                assert tuple(group) == keys, (name, path)
                assert abs(sum(group.values()) - 1.0) <= 0.01, (name, path, group)
                assert all(0.0 <= v <= 1.0 and round(v, 4) == v for v in group.values())
            for k in ("Tied hair", "Braided hair"):
                assert 0.0 <= d["FemaleHairStyle"][k] <= 1.0
            json.dumps(d)  # plain JSON types


def test_no_key_is_constant(results: dict[str, fa.FaceAttributesResult]) -> None:
    flats = [_flat(f) for r in results.values() for f in r.faces]
    assert len(flats) >= 8
    constant = [k for k in flats[0] if len({f[k] for f in flats}) < 2]
    assert constant == []


def test_plausible_hair(results: dict[str, fa.FaceAttributesResult]) -> None:
    """Rose Leslie's long red hair vs the men's short dark hair (what the heuristics can see)."""
    for name in ("face_rose_leslie_a.jpg", "face_rose_leslie_b.jpg"):
        f = results[name].faces[0]
        assert max(f.female_hair_style.long_short_hair, key=f.female_hair_style.long_short_hair.get) == "Long"
        warm = f.hair_color["Chestnut"] + f.hair_color["Wine red"] + f.hair_color["Brown"]
        assert warm > f.hair_color["Black"], (name, f.hair_color)
    for name in ("face_alex_lacamoire_a.jpg", "face_alex_lacamoire_b.jpg", "face_kit_harington_c.jpg"):
        f = results[name].faces[0]
        assert f.female_hair_style.long_short_hair["Short"] > 0.5, name
        assert max(f.hair_color, key=f.hair_color.get) == "Black", (name, f.hair_color)


def _recolour(image: Image.Image, mask: np.ndarray, lab_target: tuple[float, float, float]) -> Image.Image:
    """Hair pixels moved to a target colour, keeping their lightness texture."""
    rgb = np.asarray(image, np.float32) / 255.0
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)
    L = lab[..., 0]
    lab[..., 0] = np.where(mask, np.clip(lab_target[0] + 0.5 * (L - np.median(L[mask])), 0, 100), L)
    lab[..., 1] = np.where(mask, lab_target[1], lab[..., 1])
    lab[..., 2] = np.where(mask, lab_target[2], lab[..., 2])
    out = cv2.cvtColor(lab, cv2.COLOR_Lab2RGB)
    return Image.fromarray(np.clip(out * 255 + 0.5, 0, 255).astype(np.uint8))


@pytest.mark.parametrize(("target", "key"), [((62.0, 9.0, 38.0), "Golden"), ((78.0, 2.0, 55.0), "Yellow")])
def test_hair_colour_follows_recolouring(
    settings: Settings, results: dict[str, fa.FaceAttributesResult], target: tuple[float, float, float], key: str
) -> None:
    name = "face_kit_harington_c.jpg"
    image = load(name)
    (mask,) = hair_masks(image, settings)
    assert mask.sum() > 1000
    before = results[name].faces[0].hair_color
    after = analyze_faces(_recolour(image, mask, target), settings, use_clip=False).faces[0].hair_color
    blond_before = before["Golden"] + before["Yellow"]
    blond_after = after["Golden"] + after["Yellow"]
    assert blond_after > blond_before + 0.4, (before, after)
    assert after[key] > before[key] + 0.2 and after[key] == max(after.values()), (key, after)
    assert after["Black"] < before["Black"] - 0.3


def test_age_ranges(settings: Settings) -> None:
    for name in [*SINGLE, PAIR]:
        r = estimate_age_range(load(name), settings)
        assert r.age_range in AGE_RANGES
        assert r.age_range in ("20-29", "30-39", "40-49", "50-59"), (name, r)
        assert 0.0 < r.age_range_prob <= 1.0


def test_age_without_face(settings: Settings) -> None:
    with pytest.raises(UnprocessableError, match="no face found"):
        estimate_age_range(load("skimage_moon.png"), settings)


class _FakeClip:
    """Stands in for clip-vit-b32: embeddings from pixel statistics and text hashes, zero-shot by softmax."""

    def embed_image(self, image: Image.Image) -> np.ndarray:
        a = np.asarray(image, np.float32)
        v = np.concatenate([a.mean(axis=(0, 1)), a.std(axis=(0, 1)), [a.shape[0], a.shape[1]]])
        return v / np.linalg.norm(v)

    def embed_text(self, texts: list[str]) -> np.ndarray:
        rows = [np.random.default_rng(zlib.crc32(t.encode())).normal(size=8) for t in texts]
        m = np.asarray(rows, np.float32)
        return m / np.linalg.norm(m, axis=1, keepdims=True)

    def zero_shot(self, image_emb: np.ndarray, text_embs: np.ndarray) -> np.ndarray:
        z = 10.0 * text_embs @ image_emb
        e = np.exp(z - z.max())
        return e / e.sum()


def test_clip_method_when_installed(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    real = fa_clip.get_pipeline

    def fake(name: str, s: Settings) -> Any:
        return _FakeClip() if name == fa.CLIP_MODEL else real(name, s)

    monkeypatch.setattr(fa_clip, "get_pipeline", fake)  # where the CLIP model is fetched
    monkeypatch.setattr(fa_analyze, "clip_installed", lambda s: True)  # where the method is chosen
    r = analyze_faces(load("face_rose_leslie_b.jpg"), settings)
    assert r.method == fa.METHOD_CLIP
    (face,) = r.faces
    assert face.method == fa.METHOD_CLIP and face.cues == {}
    d = face_attr(face)
    assert tuple(d["HairColor"]) == HAIR_COLORS and abs(sum(d["HairColor"].values()) - 1) <= 0.01
    assert tuple(d["FemaleHairStyle"]["BangsType"]) == BANGS_TYPES
    assert 0.0 <= d["FemaleHairStyle"]["Tied hair"] <= 1.0
