"""Plain data types shared by media intake and the analyses that consume decoded media."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class VideoInfo:
    """What a probe learns about a video without decoding it."""

    width: int
    height: int
    duration_s: float
    fps: float
    frame_count: int | None
    codec: str
    has_audio: bool
    size_bytes: int


@dataclass(frozen=True)
class Frame:
    """One decoded video frame: presentation time in seconds and an RGB uint8 array (H, W, 3)."""

    t: float
    rgb: np.ndarray
