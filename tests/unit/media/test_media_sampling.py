"""Sampled decoding does less work than a full decode but keeps exactly its frames; the prefetching thread that
overlaps decoding with analysis hands on errors and stops when its consumer does."""

from __future__ import annotations

import threading
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from medialens.config import Settings
from medialens.media import video
from medialens.media.errors import DecodeError
from medialens.media.gate import PacketGate
from medialens.media.types import Frame, VideoInfo
from medialens.tasks.intake import sampled_frames


@pytest.fixture
def gates(monkeypatch: pytest.MonkeyPatch) -> list[PacketGate]:
    """The gates that iter_frames makes, recorded."""
    made: list[PacketGate] = []

    class Recorded(PacketGate):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            made.append(self)

    monkeypatch.setattr(video, "PacketGate", Recorded)
    return made


def _linear(path: Path, monkeypatch: pytest.MonkeyPatch, **kwargs: object) -> list[Frame]:
    """The reference: every packet decoded in full, the sampler picking from all frames."""
    with monkeypatch.context() as patch:
        patch.setattr(video, "PacketGate", lambda *_a, **_k: None)
        return list(video.iter_frames(path, **kwargs))  # type: ignore[arg-type]


def _assert_same(got: list[Frame], want: list[Frame]) -> None:
    assert [f.t for f in got] == [f.t for f in want]
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a.rgb, b.rgb)


def write_vfr(
    path: Path, times_ms: list[int], *, gop: int = 10, size: tuple[int, int] = (320, 240), x264: str = ""
) -> Path:
    """An H.264 clip with the given presentation times (variable rate, any start time), B-frames on; ``x264`` adds
    libx264 parameters."""
    rng = np.random.default_rng(2)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        stream.time_base = stream.codec_context.time_base = Fraction(1, 1000)
        stream.options = {"preset": "ultrafast", "g": str(gop), "bf": "3", "crf": "30"}
        if x264:
            stream.options = {**stream.options, "x264-params": x264}
        for i, ms in enumerate(times_ms):
            img = np.roll(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8), i * 4, axis=1)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p")
            frame.pts, frame.time_base = ms, Fraction(1, 1000)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


@pytest.mark.parametrize("fps", [4.0, 2.0, 0.7, 0.2])
@pytest.mark.parametrize("gop", [15, 60])
def test_sampled_decode_keeps_the_frames_of_a_full_decode(
    make_video: Callable[..., Path], monkeypatch: pytest.MonkeyPatch, gates: list[PacketGate], fps: float, gop: int
) -> None:
    path = make_video(seconds=12, width=320, height=240, gop=gop)
    got = list(video.iter_frames(path, sample_fps=fps, max_side=160))
    _assert_same(got, _linear(path, monkeypatch, sample_fps=fps, max_side=160))
    if 1 / fps > gop / 30:  # samples sparser than the keyframes: whole GOPs were never decoded
        assert gates[0].dropped > 0


@pytest.mark.parametrize("threads", [0, 1])
def test_vfr_with_a_late_start_and_b_frames(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, threads: int) -> None:
    steps = [33, 33, 100, 20, 250, 33, 33, 500, 33, 66] * 8
    times = [1500 + sum(steps[:i]) for i in range(len(steps))]
    path = write_vfr(tmp_path / "vfr.mkv", times)
    for fps in (3.0, 1.0, 0.3):
        got = list(video.iter_frames(path, sample_fps=fps, threads=threads))
        assert got and got[0].t == pytest.approx(0.0)
        _assert_same(got, _linear(path, monkeypatch, sample_fps=fps, threads=threads))


@pytest.mark.parametrize("suffix", ["mp4", "mkv", "ts"])
def test_open_gop_b_pyramid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gates: list[PacketGate], suffix: str
) -> None:
    """Open GOPs: the B-frames after a keyframe that reference the GOP before it are never samples after a skip."""
    params = "open-gop=1:keyint=20:min-keyint=20:scenecut=0:bframes=3:b-pyramid=normal:ref=4"
    path = write_vfr(tmp_path / f"open.{suffix}", [i * 33 for i in range(240)], x264=params)
    for fps in (2.0, 0.7, 0.3):
        _assert_same(list(video.iter_frames(path, sample_fps=fps)), _linear(path, monkeypatch, sample_fps=fps))
    assert gates[-1].dropped > 0


def test_rotation_and_max_frames_are_kept(make_video: Callable[..., Path], monkeypatch: pytest.MonkeyPatch) -> None:
    path = make_video(seconds=6, width=480, height=320, gop=15, rotation=90)
    got = list(video.iter_frames(path, sample_fps=0.5, max_frames=2))
    _assert_same(got, _linear(path, monkeypatch, sample_fps=0.5, max_frames=2))
    assert [f.t for f in got] == pytest.approx([0.0, 2.0]) and got[0].rgb.shape == (480, 320, 3)


def test_corrupt_packets_are_skipped_the_same_way(media_dir: Path, tmp_path: Path, monkeypatch) -> None:
    data = bytearray((media_dir / "video/asl_walk.mkv").read_bytes())
    rng = np.random.default_rng(1)
    for offset in range(40_000, 200_000, 20_000):
        data[offset : offset + 2000] = rng.bytes(2000)
    path = tmp_path / "corrupt.mkv"
    path.write_bytes(bytes(data))
    got = list(video.iter_frames(path, sample_fps=2))
    assert len(got) >= 2
    assert [f.t for f in got] == [f.t for f in _linear(path, monkeypatch, sample_fps=2)]


def test_skip_loop_filter_keeps_sample_times(make_video: Callable[..., Path]) -> None:
    path = make_video(seconds=4, width=320, height=240, gop=60)
    exact = list(video.iter_frames(path, sample_fps=2))
    fast = list(video.iter_frames(path, sample_fps=2, skip_loop_filter=True))
    assert [f.t for f in fast] == [f.t for f in exact]
    assert all(a.rgb.shape == b.rgb.shape for a, b in zip(fast, exact, strict=True))


def _info(path: Path) -> VideoInfo:
    return video.probe_video(path, settings=Settings())


def _decode_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "video-decode"]


def test_sampled_frames_decode_ahead_and_give_the_same_frames(
    make_video: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = make_video(seconds=5, width=640, height=360, gop=30)
    settings = Settings()
    frames = sampled_frames(path, _info(path), settings)
    assert not _decode_threads()  # nothing starts before the first frame is asked for
    got = list(frames)
    assert not _decode_threads()
    _assert_same(got, _linear(path, monkeypatch, sample_fps=settings.video_sample_fps, max_side=512))


def test_closing_sampled_frames_early_stops_the_decode_thread(make_video: Callable[..., Path]) -> None:
    path = make_video(seconds=20, width=320, height=240, gop=30)
    frames = sampled_frames(path, _info(path), Settings())
    assert next(frames).t == 0.0
    assert len(_decode_threads()) == 1
    frames.close()  # type: ignore[attr-defined]
    assert not _decode_threads()


def test_a_decode_error_reaches_the_consumer(tmp_path: Path, make_video: Callable[..., Path]) -> None:
    path = make_video(seconds=1, width=320, height=240)
    info = _info(path)
    path.write_bytes(b"not a video any more")
    with pytest.raises(DecodeError, match="video could not be decoded"):
        list(sampled_frames(path, info, Settings()))
    assert not _decode_threads()


def test_a_truncated_file_keeps_what_decodes(media_dir: Path, tmp_path: Path) -> None:
    data = (media_dir / "video/asl_walk.mkv").read_bytes()  # Matroska streams: half a file still plays
    path = tmp_path / "half.mkv"
    path.write_bytes(data[: len(data) // 2])
    full = video.probe_video(media_dir / "video/asl_walk.mkv", settings=Settings())
    got = list(sampled_frames(path, full, Settings()))
    assert 0 < len(got) < full.duration_s * 2
    assert [f.t for f in got] == [f.t for f in video.iter_frames(path, sample_fps=2.0, max_side=512)]


def test_inexact_sampling_keeps_the_sample_times(make_video: Callable[..., Path]) -> None:
    path = make_video(seconds=4, width=640, height=360, gop=60)
    info, settings = _info(path), Settings()
    exact = list(sampled_frames(path, info, settings, 1.0))
    fast = list(sampled_frames(path, info, settings, 1.0, exact=False))
    assert [f.t for f in fast] == [f.t for f in exact] == pytest.approx([0.0, 1.0, 2.0, 3.0])
    assert [f.rgb.shape for f in fast] == [f.rgb.shape for f in exact]
