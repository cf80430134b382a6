"""VideoQA on real clips decoded with PyAV: clean > degraded, static_similarity for stills vs motion."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from medialens.analyses.niqe import NiqeModel
from medialens.analyses.video_quality import VideoQualityResult, assess_video, ssim
from medialens.media.errors import DecodeError
from medialens.media.types import Frame, VideoInfo

from .conftest import add_noise, blur, load_image


def _fit_512(rgb: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    f = 512 / max(h, w)
    if f >= 1:
        return rgb
    return cv2.resize(rgb, (round(w * f), round(h * f)), interpolation=cv2.INTER_AREA)


def decode(path: Path, fps: float = 2.0, max_s: float = 12.0) -> tuple[VideoInfo, list[Frame]]:
    """Sample ~``fps`` frames per second from the first ``max_s`` seconds, downscaled to <= 512 px."""
    frames: list[Frame] = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        next_t = 0.0
        for frame in container.decode(stream):
            t = float(frame.time or 0.0)
            if t > max_s:
                break
            if t + 1e-6 < next_t:
                continue
            next_t = t + 1.0 / fps
            frames.append(Frame(t=t, rgb=_fit_512(frame.to_ndarray(format="rgb24"))))
        info = VideoInfo(
            width=stream.width,
            height=stream.height,
            duration_s=float(container.duration or 0) / 1e6,
            fps=float(stream.average_rate or 0),
            frame_count=stream.frames or None,
            codec=stream.codec_context.name,
            has_audio=bool(container.streams.audio),
            size_bytes=path.stat().st_size,
        )
    return info, frames


def _info(w: int = 512, h: int = 288, fps: float = 29.97, duration: float = 6.0) -> VideoInfo:
    return VideoInfo(w, h, duration, fps, None, "h264", False, 1000)


@pytest.fixture(scope="module")
def basketball(media_dir: Path) -> tuple[VideoInfo, list[Frame]]:
    return decode(media_dir / "video" / "basketball_gym.mp4")


@pytest.mark.parametrize("name", ["basketball_gym.mp4", "two_men_hugging.mp4", "intel_cars_parking_lot.mp4"])
def test_clean_video_beats_blurred_and_noisy(niqe_model: NiqeModel, media_dir: Path, name: str) -> None:
    info, frames = decode(media_dir / "video" / name)
    clean = assess_video(info, iter(frames), niqe_model).score
    blurred = assess_video(info, (Frame(f.t, blur(f.rgb, 2.0)) for f in frames), niqe_model).score
    noisy_frames = (Frame(f.t, add_noise(f.rgb, 25.0, i)) for i, f in enumerate(frames))
    noisy = assess_video(info, noisy_frames, niqe_model)
    assert clean > blurred, (clean, blurred)
    assert clean > noisy.score, (clean, noisy.score)


Clip = tuple[VideoInfo, list[Frame]]


def test_result_fields_come_from_info(niqe_model: NiqeModel, basketball: Clip) -> None:
    info, frames = basketball
    result = assess_video(info, iter(frames), niqe_model)
    assert isinstance(result, VideoQualityResult)
    assert (result.width, result.height) == (426, 240)
    assert result.fps == round(info.fps) and isinstance(result.fps, int)
    assert result.duration_s == info.duration_s
    assert 0.0 <= result.score <= 100.0
    assert 0.0 <= result.static_similarity <= 1.0


def test_slideshow_is_near_one_and_motion_is_lower(
    niqe_model: NiqeModel, media_dir: Path, basketball: tuple[VideoInfo, list[Frame]]
) -> None:
    stills = [
        np.asarray(load_image(media_dir, n).resize((512, 288)))
        for n in ("skimage_cat_chelsea.png", "skimage_motorcycle.png", "face_rose_leslie_a.jpg")
    ]
    # ~2 s per still sampled at 2 fps, plus light re-encoding noise so frames are not bit-identical.
    slideshow = (Frame(t=i * 0.5, rgb=add_noise(stills[i // 4], 2.0, seed=i)) for i in range(len(stills) * 4))
    static = assess_video(_info(), slideshow, niqe_model).static_similarity
    info, frames = basketball
    moving = assess_video(info, iter(frames), niqe_model).static_similarity
    assert static > 0.9, static
    assert moving < 0.6, moving
    assert static - moving > 0.3


def test_stream_is_consumed_once(niqe_model: NiqeModel, basketball: tuple[VideoInfo, list[Frame]]) -> None:
    info, frames = basketball
    seen: list[float] = []

    def gen() -> Iterator[Frame]:
        for f in frames[:6]:
            seen.append(f.t)
            yield f

    assess_video(info, gen(), niqe_model)
    assert seen == [f.t for f in frames[:6]]


def test_single_frame_and_black_frames(niqe_model: NiqeModel, basketball: Clip) -> None:
    info, frames = basketball
    one = assess_video(info, iter(frames[:1]), niqe_model)
    assert one.static_similarity == 1.0
    black = Frame(0.0, np.zeros_like(frames[0].rgb))
    assert assess_video(info, iter([black, black]), niqe_model).score == 0.0
    with_fade = assess_video(info, iter([black, *frames[:4]]), niqe_model).score
    assert with_fade == pytest.approx(assess_video(info, iter(frames[:4]), niqe_model).score, rel=0.05)


def test_no_frames_is_a_decode_error(niqe_model: NiqeModel) -> None:
    with pytest.raises(DecodeError):
        assess_video(_info(), iter([]), niqe_model)


def test_ssim_bounds() -> None:
    a = np.random.default_rng(0).uniform(0, 255, (128, 128))
    assert ssim(a, a) == pytest.approx(1.0)
    assert ssim(a, 255 - a) == 0.0


def test_a_decoder_error_is_the_analysis_error_and_opencv_threads_come_back(
    niqe_model: NiqeModel, basketball: Clip
) -> None:
    info, frames = basketball
    threads = cv2.getNumThreads()

    def broken() -> Iterator[Frame]:  # what the decode thread hands on when the file breaks off mid-stream
        yield from frames[:3]
        raise DecodeError("video could not be decoded: broken off")

    with pytest.raises(DecodeError, match="broken off"):
        assess_video(info, broken(), niqe_model)
    assert cv2.getNumThreads() == threads
