"""MediaPipe Hands on LiteRT (palm detector + 21 hand landmarks): on signers' frames the hands are found where the
pose model puts the wrists, with a plausible hand shape; no hands where there is nobody; and the hand descriptors
of video indexing on real signing and non-signing clips."""

from __future__ import annotations

import math

import numpy as np
import pytest

from medialens.analyses import video_index as vi
from medialens.config import Settings
from medialens.media.video import probe_video
from medialens.models.pipelines import pipeline_class
from medialens.models.pipelines.mediapipe_hands import palm_roi
from medialens.models.pipelines.mediapipe_models import ssd_anchor_centres
from medialens.tasks.intake import sampled_frames
from tests.conftest import MEDIA
from tests.support import ensure_models


@pytest.fixture(scope="module")
def models():
    root = ensure_models("mediapipe-hands", "mediapipe-pose")
    settings = Settings()
    return {n: pipeline_class(n)(root / n, settings) for n in ("mediapipe-hands", "mediapipe-pose")}


def _frames(name: str, fps: float = 2.0) -> list:
    path = MEDIA / "video" / name
    settings = Settings()
    return list(sampled_frames(path, probe_video(path, settings=settings), settings, fps))


def test_palm_anchors_and_roi_geometry() -> None:
    assert len(ssd_anchor_centres(192, (8, 16, 16, 16))) == 2016  # the palm detector's output rows
    # an upright hand (wrist below the middle knuckle): no rotation, box moved up by half its height, x 2.6
    roi = palm_roi(np.array([100.0, 100.0, 140.0, 140.0]), np.array([120.0, 140.0]), np.array([120.0, 100.0]))
    assert roi.rotation == pytest.approx(0.0, abs=1e-9)
    assert (roi.cx, roi.cy, roi.size) == pytest.approx((120.0, 100.0, 104.0))
    # the same hand lying right-to-left (fingers pointing left): rotated by 90 degrees, shifted left
    side = palm_roi(np.array([100.0, 100.0, 140.0, 140.0]), np.array([140.0, 120.0]), np.array([100.0, 120.0]))
    assert abs(side.rotation) == pytest.approx(math.pi / 2) and side.cx == pytest.approx(100.0)


@pytest.mark.parametrize("name", ["asl_bird.mkv", "asl_please.mkv"])
def test_hands_sit_at_the_pose_wrists(models, name: str) -> None:
    hands_pipe, pose_pipe = models["mediapipe-hands"], models["mediapipe-pose"]
    checked = 0
    for frame in _frames(name)[:4]:
        hands = hands_pipe(frame.rgb)
        pose = pose_pipe(frame.rgb)
        assert hands and pose is not None
        w = frame.rgb.shape[1]
        sw = float(np.linalg.norm(pose.point("left_shoulder")[:2] - pose.point("right_shoulder")[:2]))
        wrists = [pose.point(k)[:2] for k in ("left_wrist", "right_wrist")]
        for hand in hands:
            assert hand.points.shape == (21, 3) and hand.score >= 0.5
            assert (-0.1 * w <= hand.points[:, 0]).all() and (hand.points[:, 0] <= 1.1 * w).all()
            near = min(float(np.linalg.norm(hand.points[0, :2] - wr)) for wr in wrists)
            assert near < 0.6 * sw, (frame.t, near, sw)  # the hand model's wrist is a pose wrist
            palm = float(np.linalg.norm(hand.points[9, :2] - hand.points[0, :2]))
            assert 0.1 * sw < palm < 1.2 * sw  # a hand-sized hand
            checked += 1
    assert checked >= 4


def test_no_hands_without_people(models) -> None:
    assert all(models["mediapipe-hands"](f.rgb) == [] for f in _frames("intel_cars_parking_lot.mp4", 1.0)[:5])


def test_hand_descriptors_on_signing_and_other_clips() -> None:
    """Both hands up and open hands on a signer's clip; neither on the makeup tutorial (one hand, holding a brush)."""
    settings = Settings(model_dir=ensure_models("mediapipe-hands", "mediapipe-pose"))
    signer = vi.descriptors_of(vi._observe(_frames("asl_sorry.mkv"), settings, True, False, True))
    makeup = vi.descriptors_of(vi._observe(_frames("eye_makeup.avi")[:10], settings, True, False, True))
    assert {"both hands raised in front of the body", "an open hand with the fingers spread"} <= set(signer)
    assert not vi.HAND_DESCRIPTORS & set(makeup)
