"""Image tags (ConSE + ImageNet + COCO) on real images; the shipped label data and embedding matrices."""

from __future__ import annotations

import json
from importlib import resources

import numpy as np
import pytest
from PIL import Image

from medialens.analyses import evidence
from medialens.analyses.image_tags import ImageTagsResult, tag_image
from medialens.config import Settings
from medialens.models.pipelines.detection import COCO80
from tests.conftest import MEDIA
from tests.support import ensure_models


@pytest.fixture(scope="module")
def settings() -> Settings:
    return Settings(model_dir=ensure_models("mobilenet-v2", "nanodet", "e5-small-q4"))


def _image(name: str) -> Image.Image:
    return Image.open(MEDIA / "image" / name)


def _names(res: ImageTagsResult, k: int) -> list[str]:
    return [t.name for t in res.tags[:k]]


def test_label_files_record_sources_and_are_valid() -> None:
    cats = evidence.taxonomy()
    assert 20 <= len(cats) <= 30
    assert len({c.id for c in cats}) == len(cats)
    assert all(c.en and c.zh and c.description for c in cats)
    tags = evidence.tag_vocabulary()
    assert 200 <= len(tags) <= 500
    assert len({t.en for t in tags}) == len(tags)
    assert all(t.zh and t.source for t in tags)
    assert all(0 <= i < 1000 for t in tags for i in t.imagenet)
    assert all(name in COCO80 for t in tags for name in t.coco)
    assert {s for t in tags for s in t.source.split("+")} == {"imagenet", "coco", "hand"}
    for name in ("taxonomy.json", "tag_vocabulary.json"):
        doc = json.loads(resources.files("medialens").joinpath(f"data/{name}").read_text("utf-8"))
        assert len(doc["source"]) > 100  # where the lists came from


def test_shipped_matrices_are_current_and_match_a_fresh_computation(settings: Settings) -> None:
    meta = json.loads(resources.files("medialens").joinpath("data/label_embeddings.json").read_text("utf-8"))
    sets = evidence.label_sets()
    assert set(meta) == set(sets)
    for name, texts in sets.items():
        assert meta[name]["sha256"] == evidence.texts_sha256(texts), f"{name}: rerun tools/build_label_embeddings.py"
        shipped = evidence._shipped(name, texts)
        assert shipped is not None and shipped.shape == (len(texts), 384)
        rows = [0, len(texts) // 2, len(texts) - 1]
        fresh = evidence.embed_texts([texts[i] for i in rows], settings)
        # float16 rounding, and the 4-bit engine's kernels differ by CPU (AVX2 vs AVX-512 VNNI): same direction
        cosine = np.sum(shipped[rows].astype(np.float32) * fresh, axis=1)
        assert cosine.min() > 0.999, (name, cosine)
        np.testing.assert_allclose(shipped[rows], fresh, atol=5e-3)


def test_cat_photo(settings: Settings) -> None:
    res = tag_image(_image("skimage_cat_chelsea.png"), settings, top_k=10)
    assert "cat" in _names(res, 5)
    assert res.method == "conse-mobilenetv2-e5"
    assert (res.width, res.height) == (451, 300)
    scores = [t.score for t in res.tags]
    assert len(scores) == 10 and scores == sorted(scores, reverse=True)
    assert all(0 <= s <= 1 for s in scores)
    assert next(t for t in res.tags if t.name == "cat").zh == "猫"
    assert res.features.shape == (1280,)
    emb = res.embedding
    assert emb.shape == (512,) and abs(float(np.linalg.norm(emb)) - 1) < 1e-5


def test_motorcycle_photo(settings: Settings) -> None:
    res = tag_image(_image("skimage_motorcycle.png"), settings, top_k=5)
    assert "motorcycle" in _names(res, 5)
    assert len(res.tags) == 5


def test_grey_and_alpha_images(settings: Settings) -> None:
    grey = tag_image(_image("skimage_cameraman.png"), settings, top_k=3)  # mode L
    assert len(grey.tags) == 3 and grey.width == 512
    rgba = _image("skimage_cat_chelsea.png").convert("RGBA")
    assert "cat" in _names(tag_image(rgba, settings), 5)


class _FakeClip:
    """Stands in for the clip-vit-b32 pipeline: image embedding = e5 embedding of 'cat', text = e5 of prompt."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def run_batch(self, images):
        return [evidence.embed_texts(["a photo of a cat"], self.settings)[0] for _ in images]

    def embed_text(self, texts):
        return evidence.embed_texts(list(texts), self.settings)


def test_clip_is_used_when_installed(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    real = evidence.get_pipeline
    fake = _FakeClip(settings)
    monkeypatch.setattr(evidence, "clip_available", lambda _s: True)
    monkeypatch.setattr(
        evidence, "get_pipeline", lambda name, s: fake if name == evidence.CLIP_MODEL else real(name, s)
    )
    monkeypatch.setattr(evidence, "CLIP_TAG_CENTER", 0.85)  # e5 stands in for CLIP here: e5's cosine range
    res = tag_image(_image("skimage_motorcycle.png"), settings, top_k=10)
    assert res.method == "clip-vit-b32"
    assert "cat" in _names(res, 10)  # the (fake) CLIP image embedding says cat
    assert "motorcycle" in _names(res, 10)  # direct NanoDet evidence still joins
