"""Post categorization and labeling: video and/or images and/or text."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from medialens.analyses.multimodal import classify_post
from medialens.config import Settings
from medialens.media.video import iter_frames, probe_video
from tests.conftest import MEDIA
from tests.support import ensure_models


@pytest.fixture(scope="module")
def settings() -> Settings:
    return Settings(model_dir=ensure_models("mobilenet-v2", "nanodet", "e5-small-q4"))


def _cat() -> Image.Image:
    return Image.open(MEDIA / "image" / "skimage_cat_chelsea.png")


def test_cat_image_and_text_is_animals(settings: Settings) -> None:
    res = classify_post(None, [_cat()], "my cat sleeping", settings, classification_top_k=3, tag_top_k=5)
    assert res.classes[0].name == "Animals/Pets" and res.classes[0].zh == "动物萌宠"
    assert len(res.classes) == 3 and res.classes[0].score > res.classes[1].score
    assert "cat" in [t.name for t in res.tags]
    assert res.method == "conse-mobilenetv2-e5"
    assert res.embedding32 is not None and res.embedding32.shape == (32,)
    assert abs(float(np.linalg.norm(res.embedding32)) - 1) < 1e-5
    assert res.video_width is None and res.video_height is None and res.duration is None


def test_text_only_and_chinese_text(settings: Settings) -> None:
    res = classify_post(None, [], "my cat sleeping", settings)
    assert res.classes[0].name == "Animals/Pets" and res.method == "e5-small-q4"
    assert len(res.classes) == 1 and len(res.tags) == 5
    zh = classify_post(None, [], "周末去山里徒步旅行，风景很美", settings, classification_top_k=2)
    assert {c.name for c in zh.classes} & {"Travel", "Nature"}


def test_images_without_text(settings: Settings) -> None:
    moto = Image.open(MEDIA / "image" / "skimage_motorcycle.png")
    res = classify_post(None, [_cat(), moto], "", settings, classification_top_k=2, tag_top_k=10)
    names = [t.name for t in res.tags]
    assert "cat" in names and "motorcycle" in names
    assert {c.name for c in res.classes} == {"Animals/Pets", "Vehicles/Autos"}


def test_video_with_text(settings: Settings) -> None:
    path = MEDIA / "video" / "basketball_gym.mp4"
    info = probe_video(path, settings=settings)
    frames = iter_frames(path, sample_fps=1.0, max_side=640)
    res = classify_post((info, frames), [], "basketball practice with friends", settings, want_embedding=False)
    assert res.classes[0].name == "Sports"
    assert (res.video_width, res.video_height) == (426, 240) and res.duration == pytest.approx(10.01, abs=0.1)
    assert res.embedding32 is None


def test_switches_and_empty_post(settings: Settings) -> None:
    res = classify_post(None, [_cat()], "", settings, want_classes=False, want_tags=False)
    assert res.classes == [] and res.tags == [] and res.embedding32 is not None
    with pytest.raises(ValueError):
        classify_post(None, [], "   ", settings)
