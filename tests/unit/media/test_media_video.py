"""Video probing and frame sampling on the shared real videos and on clips encoded here."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from medialens.config import Settings
from medialens.media.errors import DecodeError, TooLargeError, TooSmallError
from medialens.media.video import iter_frames, probe_video


def test_probe_real_videos(video_record: dict, media_dir: Path, settings: Settings) -> None:
    meta = video_record["meta"]
    info = probe_video(media_dir / video_record["file"], settings=settings)
    assert (info.width, info.height) == (meta["width"], meta["height"])
    assert info.duration_s == pytest.approx(meta["duration_s"], abs=0.1)
    # average rate; one clip has dropped frames, so it sits a little under its nominal 30/1
    assert info.fps == pytest.approx(float(Fraction(meta["fps"])), rel=0.1)
    assert info.codec == meta["video_codec"]
    assert info.has_audio == ("audio_codec" in meta)
    assert info.size_bytes == meta["bytes"]
    assert info.frame_count is None or info.frame_count > 0


def test_sample_real_videos_by_time(video_record: dict, media_dir: Path) -> None:
    duration = video_record["meta"]["duration_s"]
    frames = list(iter_frames(media_dir / video_record["file"], sample_fps=2, max_side=256))
    assert abs(len(frames) - duration * 2) <= 2
    times = [f.t for f in frames]
    assert times[0] == pytest.approx(0.0, abs=0.1)
    assert all(0.4 <= b - a <= 0.6 for a, b in itertools.pairwise(times))
    for frame in frames:
        assert frame.rgb.dtype == np.uint8 and frame.rgb.ndim == 3 and frame.rgb.shape[2] == 3
        assert max(frame.rgb.shape[:2]) <= 256


def test_all_frames_and_max_side(media_dir: Path) -> None:
    path = media_dir / "video/two_men_hugging.mp4"
    frames = list(iter_frames(path, max_side=512))
    assert len(frames) == 72  # every decoded frame when no sample rate is given
    assert frames[0].rgb.shape == (288, 512, 3)
    assert next(iter(iter_frames(path, max_frames=1))).rgb.shape == (1080, 1920, 3)


def test_max_frames_stops_early(media_dir: Path) -> None:
    frames = list(iter_frames(media_dir / "video/intel_bottles.mp4", sample_fps=1, max_frames=5))
    assert [round(f.t) for f in frames] == [0, 1, 2, 3, 4]


def test_keyframes_only(make_video: Callable[..., Path]) -> None:
    path = make_video(seconds=6, width=320, height=240, gop=60)  # a keyframe every 2 s
    frames = list(iter_frames(path, keyframes_only=True))
    assert [f.t for f in frames] == pytest.approx([0.0, 2.0, 4.0])


def test_display_rotation_is_applied(make_video: Callable[..., Path], settings: Settings) -> None:
    path = make_video(seconds=0.5, width=480, height=320, rotation=90)
    assert next(iter_frames(path)).rgb.shape == (480, 320, 3)
    info = probe_video(path, settings=settings)
    assert (info.width, info.height) == (480, 320)


def test_portrait_video_is_judged_by_its_sides(make_video: Callable[..., Path], settings: Settings) -> None:
    info = probe_video(make_video(seconds=0.5, width=240, height=320), settings=settings)
    assert (info.width, info.height) == (240, 320)


def test_too_small_video(make_video: Callable[..., Path], settings: Settings) -> None:
    path = make_video(seconds=0.5, width=160, height=120)
    with pytest.raises(TooSmallError, match="video resolution 160x120 is below the minimum 320x240"):
        probe_video(path, settings=settings)


def test_too_long_and_too_big(media_dir: Path, settings: Settings) -> None:
    path = media_dir / "video/intel_bottles.mp4"
    with pytest.raises(TooLargeError, match="duration"):
        probe_video(path, settings=settings.model_copy(update={"video_max_duration_s": 30.0}))
    with pytest.raises(TooLargeError, match="limit of 1000 bytes"):
        probe_video(path, settings=settings.model_copy(update={"video_max_bytes": 1000}))


@pytest.fixture(
    params=["empty", "random", "mp4-truncated", "mkv-header-only", "audio-only", "missing"],
)
def broken_video(request: pytest.FixtureRequest, media_dir: Path, tmp_path: Path) -> Path:
    path = tmp_path / "broken.mp4"
    kind = request.param
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "random":
        path.write_bytes(np.random.default_rng(1).bytes(50_000))
    elif kind == "mp4-truncated":  # moov atom at the end: half a file has no index
        data = (media_dir / "video/two_men_hugging.mp4").read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "mkv-header-only":
        path = tmp_path / "broken.mkv"
        path.write_bytes((media_dir / "video/asl_bird.mkv").read_bytes()[:4096])
    elif kind == "audio-only":
        path = media_dir / "audio/jfk_ask_not.flac"
    return path


def test_broken_video_probe(broken_video: Path, settings: Settings) -> None:
    with pytest.raises(DecodeError, match=r"^video could not be (decoded|read)") as info:
        probe_video(broken_video, settings=settings)
    assert str(broken_video.parent) not in str(info.value)  # no server paths in client-facing text


def test_broken_video_frames(broken_video: Path) -> None:
    with pytest.raises(DecodeError):
        list(iter_frames(broken_video, sample_fps=2))


def test_corrupt_packets_are_skipped(media_dir: Path, tmp_path: Path) -> None:
    data = bytearray((media_dir / "video/asl_walk.mkv").read_bytes())
    rng = np.random.default_rng(1)
    for offset in range(40_000, 200_000, 20_000):
        data[offset : offset + 2000] = rng.bytes(2000)
    path = tmp_path / "corrupt.mkv"
    path.write_bytes(bytes(data))
    frames = list(iter_frames(path))
    assert len(frames) > 5


def test_sample_fps_must_be_positive(media_dir: Path) -> None:
    with pytest.raises(ValueError):
        list(iter_frames(media_dir / "video/asl_no.mkv", sample_fps=0))


def test_sampling_a_60s_720p_clip(clip_720p_60s: Path, settings: Settings) -> None:
    """Sampling by time over a long clip: the right count and size (speed is measured in bench/, not here)."""
    info = probe_video(clip_720p_60s, settings=settings)
    assert (info.width, info.height, round(info.duration_s)) == (1280, 720, 60)
    frames = list(iter_frames(clip_720p_60s, sample_fps=2, max_side=512))
    assert len(frames) == 120
    assert frames[0].rgb.shape == (288, 512, 3)
