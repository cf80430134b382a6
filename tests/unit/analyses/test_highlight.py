"""The highlight analysis on real footage with a known answer: the moving five seconds of basketball set between
two stills are found, a loud passage wins when the pictures say nothing, and the clip is cut to the frame."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from medialens.analyses import highlight
from medialens.config import Settings
from medialens.media.video import iter_frames
from tests.conftest import MEDIA
from tests.support import ensure_models
from tests.variants import read_frames, write_video

SIZE = (426, 240)


@pytest.fixture(scope="module")
def faces():
    from medialens.models.loader import get_pipeline
    from medialens.models.pipelines.faces import FaceRequest

    pipe = get_pipeline("dlib-face", Settings(model_dir=ensure_models("dlib-face")))
    return lambda rgb: len(pipe(FaceRequest(rgb, upsample=0, embed=False)))


@pytest.fixture(scope="module")
def still_action_still(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """8 s of a still (a bottle line), the first 5 s of a basketball game, 8 s of the still again; 30 fps."""
    still = cv2.resize(next(read_frames(MEDIA / "video" / "intel_bottles.mp4"))[0], SIZE)
    game = [cv2.resize(f, SIZE) for f, _ in read_frames(MEDIA / "video" / "basketball_gym.mp4")][:150]
    frames = [still] * 240 + game + [still] * 240
    return write_video(tmp_path_factory.mktemp("hl") / "still_action_still.mp4", iter(frames), 30)


def _sampled(path: Path):
    return iter_frames(path, sample_fps=highlight.SAMPLE_FPS, max_side=512)


def test_the_action_between_two_stills_is_the_highlight(still_action_still: Path, faces) -> None:
    best = highlight.choose(_sampled(still_action_still), 21.0, faces, None)
    assert best.start_s == 8.0 and best.duration_s == 5.0, best
    assert min(best.scores[8:13]) > max(best.scores[:7] + best.scores[14:])


def test_sound_decides_when_the_pictures_are_alike(still_action_still: Path, faces) -> None:
    rate = 16000
    samples = np.random.default_rng(0).normal(0, 0.003, 21 * rate).astype(np.float32)  # a quiet room
    samples[2 * rate : 7 * rate] *= 60  # a loud passage over the first still
    levels = highlight.audio_levels(samples, rate, 21.0)
    assert levels[3] - levels[10] > 30
    stills = (f for f in _sampled(still_action_still) if not 7.5 <= f.t < 13.5)  # the stills only
    best = highlight.choose(stills, 21.0, faces, levels)
    assert best.start_s in (2.0, 3.0), best


def test_the_clip_lasts_the_window_whatever_the_keyframes(tmp_path: Path) -> None:
    src = MEDIA / "video" / "intel_cars_parking_lot.mp4"  # keyframes several seconds apart, and sound
    clip = highlight.cut_clip(src, tmp_path / "clip.mp4", 7.3, 5.0)
    with av.open(str(clip.path)) as c:
        assert abs(c.duration / 1e6 - 5.0) < 0.15 and c.streams.audio and clip.has_audio
        frames = [f for f in c.decode(video=0)]
    assert abs(len(frames) - clip.frames) <= 1 and (clip.width, clip.height) == (768, 432)
    # the clip starts where it should: its first picture is the source's picture at 7.3 s
    want = next(f.rgb for f in iter_frames(src) if f.t >= 7.3 - 1e-3)
    got = frames[0].to_ndarray(format="rgb24")
    assert float(np.abs(got.astype(int) - want.astype(int)).mean()) < 6


def test_a_short_video_is_its_own_highlight_and_cuts_count() -> None:
    scores = np.array([0.2, 0.9, 0.9, 0.9, 0.9, 0.9, 0.2, 0.2])
    assert highlight.best_window(scores, np.zeros(8), 3.5).start_s == 0.0
    assert highlight.best_window(scores, np.zeros(8), 3.5).duration_s == 3.5
    assert highlight.best_window(scores, np.zeros(8), 8.0).start_s == 1.0
    plateau = np.array([0.2] + [0.9] * 8 + [0.2])
    assert highlight.best_window(plateau, np.zeros(10), 10.0).start_s == 1.0  # ties: the earliest
    cuts = np.zeros(10)
    cuts[3] = 1  # a cut: the window that opens on it beats those it would split
    assert highlight.best_window(plateau, cuts, 10.0).start_s == 3.0
