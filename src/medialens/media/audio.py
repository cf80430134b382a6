"""Decode the first audio stream of any container FFmpeg reads into mono float32 samples.

Resampling is left to swresample (``av.AudioResampler``). Down-mixing is not: swresample's stereo-to-mono
matrix adds the channels at -3 dB each, which lifts correlated speech by up to +3 dB and clips it (the JFK
clip peaks at 0.78 per channel and came out clipped at 1.0), so channels are averaged here instead.
Packets are decoded one by one so a corrupt packet costs its few milliseconds of sound, not the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np

from medialens.media.errors import DecodeError

_OPEN_ERRORS = (av.FFmpegError, OSError, ValueError, UnicodeDecodeError)


def read_audio(path: Path, *, sample_rate: int = 16000, max_seconds: float | None = None) -> np.ndarray:
    """Return the first audio stream as float32 mono in [-1, 1] at ``sample_rate``, at most ``max_seconds``.

    Raises DecodeError when the file cannot be opened, has no audio stream, or yields no samples.
    """
    limit = None if max_seconds is None else max(0, round(max_seconds * sample_rate))
    chunks: list[np.ndarray] = []
    total = 0
    try:
        container = av.open(str(path), mode="r")
    except _OPEN_ERRORS as err:
        raise DecodeError(f"audio could not be decoded: {_reason(err)}") from err
    with container:
        if not container.streams.audio:
            raise DecodeError("audio could not be decoded: no audio stream")
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="fltp", rate=sample_rate)  # keeps the source layout
        for frame in _resampled(container, stream, resampler):
            samples = frame.to_ndarray().mean(axis=0, dtype=np.float32)
            chunks.append(samples)
            total += samples.size
            if limit is not None and total >= limit:
                break
    if not chunks:
        raise DecodeError("audio could not be decoded: no decodable samples")
    audio = np.concatenate(chunks)[:limit] if limit is not None else np.concatenate(chunks)
    return np.clip(audio, -1.0, 1.0, out=audio).astype(np.float32, copy=False)


def _resampled(
    container: av.container.InputContainer, stream: av.AudioStream, resampler: av.AudioResampler
) -> Iterator[av.AudioFrame]:
    try:
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except av.error.InvalidDataError:
                continue
            for frame in frames:
                yield from resampler.resample(frame)
    except av.FFmpegError:
        pass  # truncated container: keep what was decoded
    yield from resampler.resample(None)


def _reason(err: BaseException) -> str:
    """FFmpeg's/the OS's own short reason, without the file path (messages reach clients)."""
    text = getattr(err, "strerror", None) or str(err).strip() or type(err).__name__
    return str(text).splitlines()[0][:200]
