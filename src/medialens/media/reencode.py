"""Re-encode a window of a video to MP4 (H.264, plus AAC when the source has sound), exact to the frame whatever
the source's keyframes, each picture optionally passed through a function: what the highlight clip and the
up-scaled clip share. Frames are written in decode order at a constant rate from the first frame of the window
(some sources' timestamps are not monotonic); the sound is re-encoded over the same window."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from medialens.media.errors import DecodeError

AUDIO_RATE = 48000
EPS = 1e-6

PictureFunction = Callable[[np.ndarray], np.ndarray]
"""uint8 RGB [H, W, 3] -> uint8 RGB [H * scale, W * scale, 3]."""


@dataclass(frozen=True)
class Reencoded:
    """The written clip: where it is, its length and size, the source's size."""

    path: Path
    duration_s: float
    width: int
    height: int
    source_width: int
    source_height: int
    frames: int
    has_audio: bool


def even(x: int) -> int:
    """H.264 in yuv420p wants even sides."""
    return max(2, x - x % 2)


def _rate(stream: av.video.stream.VideoStream) -> Fraction:
    rate = stream.average_rate or stream.guessed_rate or Fraction(25)
    return Fraction(25) if rate > 120 or rate < 1 else Fraction(rate)


def reencode_window(
    src: Path,
    dest: Path,
    start_s: float,
    end_s: float,
    *,
    picture: PictureFunction | None = None,
    scale: int = 1,
    check_size: Callable[[int, int], None] | None = None,
    crf: int = 23,
    threads: int = 0,
    report: Callable[[int], None] | None = None,
    nothing: str = "no frame in the window",
) -> Reencoded:
    """Write ``[start_s, end_s)`` of ``src`` to ``dest``; ``picture`` (with ``scale``) changes each frame, else
    frames are only converted. ``check_size(width, height)`` may refuse the source's size before anything is
    encoded; ``report(frames_done)`` runs per frame; ``nothing`` is the error when the window holds no frame."""
    try:
        inp = av.open(str(src))
    except (av.FFmpegError, OSError) as err:
        raise DecodeError(f"video could not be decoded: {err}") from err
    with inp, av.open(str(dest), mode="w", format="mp4", options={"movflags": "+faststart"}) as out:
        if not inp.streams.video:
            raise DecodeError("video could not be decoded: the file has no video stream")
        vin = inp.streams.video[0]
        vin.thread_type = "AUTO"
        if threads:
            vin.codec_context.thread_count = threads
        rate = _rate(vin)
        src_w, src_h = even(vin.codec_context.width), even(vin.codec_context.height)
        if check_size is not None:
            check_size(src_w, src_h)
        width, height = src_w * scale, src_h * scale
        vout = out.add_stream("libx264", rate=rate, options={"preset": "veryfast", "crf": str(crf)})
        vout.width, vout.height, vout.pix_fmt = width, height, "yuv420p"
        vout.time_base = 1 / rate
        ain = inp.streams.audio[0] if inp.streams.audio else None
        aout = resampler = None
        if ain is not None:
            aout = out.add_stream("aac", rate=AUDIO_RATE, layout="stereo")
            resampler = av.AudioResampler(format="fltp", layout="stereo", rate=AUDIO_RATE)
        origin = float(vin.start_time * vin.time_base) if vin.start_time is not None else 0.0
        if start_s > 0:
            inp.seek(int((origin + start_s) / vin.time_base), stream=vin, backward=True, any_frame=False)
        n_frames, samples, video_done = 0, 0, False
        for packet in inp.demux(*([vin] + ([ain] if ain is not None else []))):
            if packet.stream is vin and video_done:
                continue
            try:
                decoded = packet.decode()
            except av.error.InvalidDataError:
                continue
            for fr in decoded:
                if fr.time is None:
                    continue
                t = float(fr.time) - origin
                if packet.stream is vin:
                    if t < start_s - EPS:
                        continue
                    if t >= end_s - EPS:
                        video_done = True
                        break
                    img = _picture(fr, picture, src_w, src_h, width, height)
                    img.pts, img.time_base = n_frames, 1 / rate
                    out.mux(vout.encode(img))
                    n_frames += 1
                    if report is not None:
                        report(n_frames)
                elif aout is not None and start_s - EPS <= t < end_s:
                    fr.pts = None
                    for res in resampler.resample(fr):
                        res.pts, res.time_base = samples, Fraction(1, AUDIO_RATE)
                        samples += res.samples
                        out.mux(aout.encode(res))
            if video_done and (aout is None or samples >= (end_s - start_s) * AUDIO_RATE):
                break
        out.mux(vout.encode(None))
        if aout is not None:
            out.mux(aout.encode(None))
    if n_frames == 0:
        raise DecodeError(f"video could not be decoded: {nothing}")
    return Reencoded(dest, round(n_frames / float(rate), 3), width, height, src_w, src_h, n_frames, aout is not None)


def _picture(
    fr: av.VideoFrame, picture: PictureFunction | None, src_w: int, src_h: int, width: int, height: int
) -> av.VideoFrame:
    if picture is None:
        return fr.reformat(width=width, height=height, format="yuv420p")
    out = np.ascontiguousarray(picture(fr.to_ndarray(format="rgb24")[:src_h, :src_w]))
    if out.shape[:2] != (height, width):
        out = cv2.resize(out, (width, height), interpolation=cv2.INTER_AREA)
    return av.VideoFrame.from_ndarray(out, format="rgb24").reformat(format="yuv420p")
