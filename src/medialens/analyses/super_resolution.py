"""Video super-resolution (Model Hub ``video_super_resolution``): every frame of the span up-scaled, re-encoded.

Two ways to up-scale a frame, chosen by the task:

* the classical method (no model; the offline tier): Lanczos ×2 (OpenCV's 8 x 8 Lanczos kernel) followed by an
  unsharp mask (Gaussian sigma ``UNSHARP_SIGMA``, amount ``UNSHARP_AMOUNT``) that restores some of the edge
  contrast interpolation smooths away. It adds no detail that was not in the source;
* a learned model (Real-ESRGAN from the hub, ``models/pipelines/esrgan.py``), given as a frame function.

The clip is re-encoded with PyAV (H.264 + AAC in MP4) at the source's frame rate, frames written in decode order at
a constant rate from the first frame of the span (as ``highlight.cut_clip`` does), the sound re-encoded over the
same span. preprocess (decode) -> compute (up-scale each frame) -> postprocess (encode).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from medialens.media.errors import DecodeError

SCALE = 2
UNSHARP_SIGMA = 1.0
UNSHARP_AMOUNT = 0.6
MAX_OUTPUT_SIDE = 4096
CLASSICAL_METHOD = "classical super-resolution (no model): Lanczos x2 + unsharp mask, re-encoded with PyAV (H.264/AAC)"

FrameUpscaler = Callable[[np.ndarray], np.ndarray]
"""uint8 RGB [H, W, 3] -> uint8 RGB [H * scale, W * scale, 3]."""


def classical(rgb: np.ndarray, scale: int = SCALE) -> np.ndarray:
    """Lanczos up-scaling then an unsharp mask: out = up + amount * (up - blur(up))."""
    h, w = rgb.shape[:2]
    up = cv2.resize(rgb, (w * scale, h * scale), interpolation=cv2.INTER_LANCZOS4)
    blur = cv2.GaussianBlur(up, (0, 0), UNSHARP_SIGMA * scale)
    return cv2.addWeighted(up, 1.0 + UNSHARP_AMOUNT, blur, -UNSHARP_AMOUNT, 0)


@dataclass(frozen=True)
class UpscaledClip:
    path: Path
    duration_s: float
    width: int
    height: int
    source_width: int
    source_height: int
    frames: int
    has_audio: bool


def _even(x: int) -> int:
    return max(2, x - x % 2)


def upscale_video(
    src: Path, dest: Path, span_s: float, upscale: FrameUpscaler, scale: int = SCALE, threads: int = 0,
    report: Callable[[int], None] | None = None,
) -> UpscaledClip:  # fmt: skip
    """Up-scale the first ``span_s`` seconds of ``src`` into an MP4 at ``dest``; ``report(frames_done)`` per frame."""
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
        rate = vin.average_rate or vin.guessed_rate or Fraction(25)
        if rate > 120 or rate < 1:
            rate = Fraction(25)
        src_w, src_h = _even(vin.codec_context.width), _even(vin.codec_context.height)
        width, height = src_w * scale, src_h * scale
        if max(width, height) > MAX_OUTPUT_SIDE:
            raise DecodeError(
                f"video is too large to up-scale: {src_w}x{src_h} x{scale} exceeds {MAX_OUTPUT_SIDE} pixels a side"
            )
        vout = out.add_stream("libx264", rate=rate, options={"preset": "veryfast", "crf": "20"})
        vout.width, vout.height, vout.pix_fmt = width, height, "yuv420p"
        vout.time_base = 1 / rate
        ain = inp.streams.audio[0] if inp.streams.audio else None
        aout = resampler = None
        if ain is not None:
            aout = out.add_stream("aac", rate=48000, layout="stereo")
            resampler = av.AudioResampler(format="fltp", layout="stereo", rate=48000)
        origin = float(vin.start_time * vin.time_base) if vin.start_time is not None else 0.0
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
                    if t >= span_s - 1e-6:
                        video_done = True
                        break
                    rgb = fr.to_ndarray(format="rgb24")[:src_h, :src_w]
                    big = np.ascontiguousarray(upscale(rgb))
                    if big.shape[:2] != (height, width):
                        big = cv2.resize(big, (width, height), interpolation=cv2.INTER_AREA)
                    img = av.VideoFrame.from_ndarray(big, format="rgb24").reformat(format="yuv420p")
                    img.pts, img.time_base = n_frames, 1 / rate
                    out.mux(vout.encode(img))
                    n_frames += 1
                    if report is not None:
                        report(n_frames)
                elif aout is not None and t < span_s:
                    fr.pts = None
                    for res in resampler.resample(fr):
                        res.pts, res.time_base = samples, Fraction(1, 48000)
                        samples += res.samples
                        out.mux(aout.encode(res))
            if video_done and (aout is None or samples >= span_s * 48000):
                break
        out.mux(vout.encode(None))
        if aout is not None:
            out.mux(aout.encode(None))
    if n_frames == 0:
        raise DecodeError("video could not be decoded: no frame in the span to up-scale")
    return UpscaledClip(dest, round(n_frames / float(rate), 3), width, height, src_w, src_h, n_frames, aout is not None)
