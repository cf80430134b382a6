"""MobileNetV2 (converted to ONNX at pull time) on real images: ImageNet top-k and pooled features."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from medialens.config import Settings
from medialens.models.pipelines.imagenet import MobileNetV2Pipeline, imagenet_classes, imagenet_text_names
from tests.conftest import MEDIA
from tests.support import ensure_models

CAT_IDS = set(range(281, 286))  # tabby, tiger cat, Persian, Siamese, Egyptian cat
MOTORCYCLE_IDS = {665, 670}  # moped, motor scooter (ImageNet has no plain "motorcycle")


@pytest.fixture(scope="module")
def pipe() -> MobileNetV2Pipeline:
    model_dir = ensure_models("mobilenet-v2") / "mobilenet-v2"
    return MobileNetV2Pipeline(model_dir, Settings(model_threads=2))


def _image(name: str) -> Image.Image:
    return Image.open(MEDIA / "image" / name)


def test_class_names_ship_as_package_data() -> None:
    names = imagenet_classes()
    assert len(names) == 1000 and names[281] == "tabby" and names[285] == "Egyptian cat"
    assert len(imagenet_text_names()) == 1000


def test_cat_is_a_cat(pipe: MobileNetV2Pipeline) -> None:
    res = pipe(_image("skimage_cat_chelsea.png"))
    top = res.top(5)
    ids = [i for i, _n, _p in top]
    # checked against torch on the original checkpoint: 285, 282, 281, 287 (lynx), 728
    assert ids[0] in CAT_IDS
    assert set(ids[:3]) <= CAT_IDS
    assert sum(p for i, _n, p in top if i in CAT_IDS) > 0.9
    assert res.probs.shape == (1000,) and res.probs.dtype == np.float32
    assert abs(float(res.probs.sum()) - 1.0) < 1e-4
    assert res.features.shape == (1280,) and np.all(res.features >= 0)


def test_motorcycle(pipe: MobileNetV2Pipeline) -> None:
    ids = [i for i, _n, _p in pipe(_image("skimage_motorcycle.png")).top(5)]
    assert ids[0] in MOTORCYCLE_IDS
    assert set(ids) >= MOTORCYCLE_IDS


def test_batch_equals_single(pipe: MobileNetV2Pipeline) -> None:
    images = [_image(n) for n in ("skimage_cat_chelsea.png", "skimage_motorcycle.png", "skimage_cameraman.png")]
    batched = pipe.run_batch(images)
    for img, b in zip(images, batched, strict=True):
        single = pipe(img)
        np.testing.assert_allclose(single.probs, b.probs, atol=1e-5)
        np.testing.assert_allclose(single.features, b.features, atol=1e-4)
    assert batched[0].top(1)[0][0] != batched[1].top(1)[0][0]
