"""NanoDet (TF.js graph converted to ONNX at pull time) on real images and video frames."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from medialens.config import Settings
from medialens.media.video import iter_frames
from medialens.models.pipelines.detection import NanoDetPipeline
from tests.conftest import MEDIA
from tests.support import ensure_models


@pytest.fixture(scope="module")
def pipe() -> NanoDetPipeline:
    model_dir = ensure_models("nanodet") / "nanodet"
    return NanoDetPipeline(model_dir, Settings(model_threads=2))


def _truth(rel: str) -> dict:
    for entry in json.loads((MEDIA / "labels.json").read_text()):
        if entry["file"] == rel:
            return entry["truth"]
    raise KeyError(rel)


@pytest.mark.parametrize(
    "rel", ["image/skimage_cat_chelsea.png", "image/skimage_motorcycle.png", "image/skimage_cameraman.png"]
)
def test_finds_labelled_objects(pipe: NanoDetPipeline, rel: str) -> None:
    img = Image.open(MEDIA / rel)
    dets = pipe(img)
    labels = {d.label for d in dets}
    expected = set(_truth(rel)["objects"])
    assert expected <= labels, (expected, [(d.label, round(d.score, 2)) for d in dets])
    w, h = img.size
    for d in dets:
        x1, y1, x2, y2 = d.box
        assert 0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h
        assert 0.0 < d.score <= 1.0
    best = max((d for d in dets if d.label in expected), key=lambda d: d.score)
    # the labelled subject fills much of each of these photos
    assert (best.box[2] - best.box[0]) * (best.box[3] - best.box[1]) > 0.15 * w * h


@pytest.mark.parametrize("name,label", [("intel_bottles.mp4", "bottle"), ("basketball_gym.mp4", "person")])
def test_video_frames(pipe: NanoDetPipeline, name: str, label: str) -> None:
    frames = [f.rgb for f in iter_frames(MEDIA / "video" / name, sample_fps=0.5, max_frames=4, max_side=640)]
    assert frames
    hits = [any(d.label == label for d in pipe(f)) for f in frames]
    assert sum(hits) >= len(frames) // 2 + 1, hits
