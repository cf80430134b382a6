"""open_nsfw pipeline on the shared (safe) images: low, valid, image-dependent scores."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from medialens.config import Settings
from medialens.models.pipelines import pipeline_class
from tests.conftest import MEDIA
from tests.support import ensure_models

IMAGES = [e["file"] for e in json.loads((MEDIA / "labels.json").read_text(encoding="utf-8")) if e["kind"] == "image"]


def open_image(path: Path) -> Image.Image:
    """The file decoded (as media/ does before a model runs): the pipeline takes images, not paths."""
    with Image.open(path) as im:
        im.load()
        return im


@pytest.fixture(scope="module")
def nsfw():
    d = ensure_models("open-nsfw") / "open-nsfw"
    pipe = pipeline_class("open-nsfw")(d, Settings())
    yield pipe
    pipe.close()


def test_shared_images_are_safe(nsfw) -> None:
    t0 = time.perf_counter()
    results = nsfw.run_batch([open_image(MEDIA / f) for f in IMAGES])
    elapsed = time.perf_counter() - t0
    scores = [r.nsfw_probability for r in results]
    for f, s in zip(IMAGES, scores, strict=True):
        print(f"{f}: {s:.5f}")
    print(f"{len(IMAGES)} images in {elapsed * 1000:.0f} ms")
    assert len(IMAGES) >= 10
    for f, r in zip(IMAGES, results, strict=True):
        assert 0.0 <= r.nsfw_probability <= 1.0 and np.isfinite(r.nsfw_probability), f
        assert r.nsfw_probability < 0.2 and r.label == "sfw", f
    assert len({round(s, 6) for s in scores}) > len(scores) // 2  # the score depends on the image
    assert max(scores) - min(scores) > 1e-3


def test_preprocess_layout(nsfw) -> None:
    x = nsfw.preprocess(open_image(MEDIA / IMAGES[0]))
    assert x.shape == (224, 224, 3) and x.dtype == np.float32
    flat = nsfw.preprocess(np.full((300, 400, 3), (123, 117, 104), np.uint8))  # RGB = the BGR means reversed
    assert np.abs(flat).max() <= 2.0  # JPEG round trip may move a flat colour by a level or two


def test_single_matches_batch_and_inputs(nsfw) -> None:
    image = open_image(MEDIA / IMAGES[0])
    single = nsfw(image).nsfw_probability
    from_array = nsfw(np.asarray(image.convert("RGB"))).nsfw_probability
    batch = nsfw.run_batch([image, open_image(MEDIA / IMAGES[1])])[0].nsfw_probability
    assert single == pytest.approx(from_array, abs=1e-5)
    assert single == pytest.approx(batch, abs=1e-4)


def test_paths_and_bytes_are_refused(nsfw) -> None:
    """Decoding is media/'s job: the pipeline takes decoded images only."""
    path = MEDIA / IMAGES[0]
    for item in (path, str(path), path.read_bytes()):
        with pytest.raises(TypeError, match="decoded image"):
            nsfw(item)
