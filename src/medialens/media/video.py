"""Probe and sample videos with PyAV, streaming: only the frames that are kept become arrays.

Sampling is by presentation time, not by frame index, so variable-frame-rate video is sampled evenly, and
frames are scaled by swscale inside FFmpeg rather than in numpy. A sampled decode does only
the work its samples need (``gate``): GOPs between sparse samples are skipped, unreferenced frames away from the
samples are not decoded, and the frames it keeps are the same as a full decode's.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from medialens.config import Settings
from medialens.media.errors import DecodeError, TooLargeError, TooSmallError
from medialens.media.gate import RESTART, PacketGate
from medialens.media.types import Frame, VideoInfo

_MAX_SANE_FPS = 1000.0
_GATE_MARGIN_FRAMES = 2.0
"""Packets this many frame durations before a wanted time are still decoded in full (timestamp rounding)."""
_OPEN_ERRORS = (av.FFmpegError, OSError, ValueError, UnicodeDecodeError)


def probe_video(path: Path, *, settings: Settings) -> VideoInfo:
    """Read what the container says (and decode one frame to prove it is usable), then apply the limits.

    ``fps`` is 0.0 when the file gives no usable rate; ``frame_count`` is None when the container does not
    record it. Width and height are the coded size; the minimum is checked on the shorter and longer side
    so a portrait (rotated) video is judged like its landscape twin.
    """
    size_bytes = _file_size(path)
    if size_bytes > settings.video_max_bytes:
        raise TooLargeError(f"video is larger than the limit of {settings.video_max_bytes} bytes")
    with _open(path) as container:
        if _is_still_image(container):
            raise DecodeError("video could not be decoded: the file is a still image, not a video")
        if not container.streams.video:
            raise DecodeError("video could not be decoded: no video stream")
        stream = container.streams.video[0]
        width, height = stream.codec_context.width, stream.codec_context.height
        if width <= 0 or height <= 0:
            raise DecodeError("video could not be decoded: no frame size")
        fps = _fps(stream)
        duration = _duration(container, stream)
        frame_count = stream.frames if stream.frames and stream.frames > 0 else None
        if duration is None and frame_count and fps:
            duration = frame_count / fps
        _check_resolution(width, height, settings)
        if duration is not None and duration > settings.video_max_duration_s:
            raise TooLargeError(
                f"video duration {duration:.1f}s is above the limit of {settings.video_max_duration_s:.0f}s"
            )
        if not _decodes_a_frame(container, stream):
            raise DecodeError("video could not be decoded: no decodable frame")
        return VideoInfo(
            width=width,
            height=height,
            duration_s=duration if duration is not None else 0.0,
            fps=fps,
            frame_count=frame_count,
            codec=stream.codec_context.name,
            has_audio=bool(container.streams.audio),
            size_bytes=size_bytes,
        )


def iter_frames(
    path: Path,
    *,
    sample_fps: float | None = None,
    keyframes_only: bool = False,
    max_frames: int | None = None,
    max_side: int | None = None,
    threads: int = 0,
    skip_loop_filter: bool = False,
) -> Iterator[Frame]:
    """Yield RGB uint8 frames, about ``sample_fps`` per second of video time (all frames when None).

    ``threads`` caps FFmpeg's decoding threads (0: FFmpeg's choice, one per core), so that several videos decoded
    at once on one machine do not each spread over every core.

    ``keyframes_only`` makes the decoder skip non-key frames entirely (much faster, irregular spacing).
    ``skip_loop_filter`` skips H.264/HEVC deblocking on every frame: about 10 % less decoding, but the kept frames
    then differ from a full decode's (blocking that drifts until the next keyframe, 33-45 dB PSNR), so it is for
    consumers that do not judge pixels, never for quality scores.
    Frames are turned upright when the stream carries a display rotation. Corrupt packets are skipped;
    a file that yields no frame at all raises DecodeError. ``t`` is seconds from the stream start.
    """
    if sample_fps is not None and sample_fps <= 0:
        raise ValueError("sample_fps must be positive")
    if max_frames is not None and max_frames < 1:
        raise ValueError("max_frames must be at least 1")
    step = 1.0 / sample_fps if sample_fps else 0.0
    yielded = 0
    with _open(path) as container:
        if not container.streams.video:
            raise DecodeError("video could not be decoded: no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        if threads > 0:
            stream.codec_context.thread_count = threads
        if keyframes_only:
            stream.codec_context.skip_frame = "NONKEY"
        if skip_loop_filter:
            stream.codec_context.options = {"skip_loop_filter": "all"}
        known_start = stream.start_time is not None and stream.time_base is not None
        start = float(stream.start_time * stream.time_base) if known_start else None
        fps = _fps(stream) or 25.0
        gated = step and not keyframes_only and stream.time_base is not None
        gate = PacketGate(stream.time_base, _GATE_MARGIN_FRAMES / fps, step) if gated else None
        scaler = VideoReformatter()  # one swscale context for all frames, not one per frame
        next_t: float | None = None
        for index, frame in enumerate(_decoded(container, stream, gate)):
            t = float(frame.time) if frame.time is not None else index / fps
            if start is None:
                start = t
            t = max(0.0, t - start)
            if next_t is not None and t < next_t - 1e-6:
                continue
            if step:
                next_t = (next_t if next_t is not None else t) + step
                if next_t <= t:  # after a gap (or a seek-less jump) restart the grid here
                    next_t = t + step
                if gate is not None:
                    gate.want = next_t + start
            yield Frame(t=t, rgb=_to_rgb(frame, max_side, scaler))
            yielded += 1
            if max_frames is not None and yielded >= max_frames:
                return
    if yielded == 0:
        raise DecodeError("video could not be decoded: no decodable frame")


def _decoded(
    container: av.container.InputContainer, stream: av.VideoStream, gate: PacketGate | None = None
) -> Iterator[av.VideoFrame]:
    """Decode packet by packet so one corrupt packet is skipped instead of ending the stream; with a ``gate``, only
    the packets it lets through, unreferenced ones skipped where it says they are cheap."""
    ctx = stream.codec_context
    skipping = False
    try:
        for packet in container.demux(stream):
            for item, cheap in gate.admit(packet) if gate is not None else ((packet, False),):
                if item is RESTART:
                    yield from _restart(ctx)
                    continue
                if gate is not None and cheap != skipping:
                    ctx.skip_frame = "NONREF" if cheap else "DEFAULT"
                    skipping = cheap
                yield from _decode_packet(item)
    except av.FFmpegError:
        return  # the container itself broke off (truncated file): keep what was decoded


def _decode_packet(packet: av.Packet) -> list[av.VideoFrame]:
    try:
        return packet.decode()
    except av.error.InvalidDataError:
        return []


def _restart(ctx: av.CodecContext) -> list[av.VideoFrame]:
    """Drain the frames still inside the decoder, then reset it, as before decoding from a seek point."""
    try:
        frames = ctx.decode(None)
    except av.FFmpegError:  # a frame lost while draining must not end the whole decode
        frames = []
    ctx.flush_buffers()
    return frames


def _to_rgb(frame: av.VideoFrame, max_side: int | None, scaler: VideoReformatter) -> np.ndarray:
    width, height = frame.width, frame.height
    if max_side and max(width, height) > max_side:
        scale = max_side / max(width, height)
        width, height = max(1, round(width * scale)), max(1, round(height * scale))
    rgb = scaler.reformat(frame, width=width, height=height, format="rgb24").to_ndarray()
    rotation = _rotation(frame)
    return np.ascontiguousarray(np.rot90(rgb, k=rotation // 90)) if rotation else rgb


def _rotation(frame: av.VideoFrame) -> int:
    """Counter-clockwise display rotation in multiples of 90 degrees (0 when absent or odd)."""
    try:
        degrees = frame.rotation
    except (AttributeError, ValueError):
        return 0
    if not degrees or not math.isfinite(degrees):
        return 0
    return round(degrees / 90.0) % 4 * 90


def _open(path: Path) -> av.container.InputContainer:
    try:
        return av.open(str(path), mode="r")
    except _OPEN_ERRORS as err:
        raise DecodeError(f"video could not be decoded: {_reason(err)}") from err


def _is_still_image(container: av.container.InputContainer) -> bool:
    """FFmpeg reads a PNG or JPEG as a one-frame "video" (``png_pipe``, ``jpeg_pipe``, ``image2``); refuse those.

    Animated formats with their own demuxer (GIF, APNG) are still accepted.
    """
    names = (container.format.name or "").split(",")
    return any(n.endswith("_pipe") or n == "image2" for n in names)


def _file_size(path: Path) -> int:
    try:
        size = path.stat().st_size
    except OSError as err:
        raise DecodeError(f"video could not be read: {_reason(err)}") from err
    if size == 0:
        raise DecodeError("video could not be decoded: empty file")
    return size


def _fps(stream: av.VideoStream) -> float:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate and 0 < float(rate) <= _MAX_SANE_FPS:
            return float(rate)
    return 0.0


def _duration(container: av.container.InputContainer, stream: av.VideoStream) -> float | None:
    candidates: list[float] = []
    if stream.duration and stream.time_base:
        candidates.append(float(stream.duration * stream.time_base))
    if container.duration:
        candidates.append(container.duration / av.time_base)
    for value in candidates:
        if math.isfinite(value) and value > 0:
            return value
    return None


def _check_resolution(width: int, height: int, settings: Settings) -> None:
    short_min = min(settings.video_min_width, settings.video_min_height)
    long_min = max(settings.video_min_width, settings.video_min_height)
    if min(width, height) < short_min or max(width, height) < long_min:
        raise TooSmallError(
            f"video resolution {width}x{height} is below the minimum "
            f"{settings.video_min_width}x{settings.video_min_height}"
        )


def _decodes_a_frame(container: av.container.InputContainer, stream: av.VideoStream) -> bool:
    return next(_decoded(container, stream), None) is not None


def _reason(err: BaseException) -> str:
    """FFmpeg's/the OS's own short reason, without the file path (messages reach clients)."""
    text = getattr(err, "strerror", None) or str(err).strip() or type(err).__name__
    return str(text).splitlines()[0][:200]
