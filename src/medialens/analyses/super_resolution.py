"""Video super-resolution (Model Hub ``video_super_resolution``): every frame of the span up-scaled, re-encoded.

Two ways to up-scale a frame, chosen by the task:

* the classical method (no model; the offline tier): Lanczos ×2 (OpenCV's 8 x 8 Lanczos kernel) followed by an
  unsharp mask (Gaussian sigma ``UNSHARP_SIGMA``, amount ``UNSHARP_AMOUNT``) that restores some of the edge
  contrast interpolation smooths away. It adds no detail that was not in the source;
* a learned model (Real-ESRGAN from the hub, ``models/pipelines/esrgan.py``), given as a frame function.

The clip is re-encoded with PyAV (H.264 + AAC in MP4) at the source's frame rate, frames written in decode order at
a constant rate from the first frame of the span (``media.reencode``, as the highlight clip), the sound re-encoded
over the same span. preprocess (decode) -> compute (up-scale each frame) -> postprocess (encode).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from medialens.media.errors import DecodeError
from medialens.media.reencode import Reencoded, reencode_window

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


def upscale_video(
    src: Path, dest: Path, span_s: float, upscale: FrameUpscaler, scale: int = SCALE, threads: int = 0,
    report: Callable[[int], None] | None = None,
) -> Reencoded:  # fmt: skip
    """Up-scale the first ``span_s`` seconds of ``src`` into an MP4 at ``dest``; ``report(frames_done)`` per frame."""

    def check_size(src_w: int, src_h: int) -> None:
        if max(src_w, src_h) * scale > MAX_OUTPUT_SIDE:
            raise DecodeError(
                f"video is too large to up-scale: {src_w}x{src_h} x{scale} exceeds {MAX_OUTPUT_SIDE} pixels a side"
            )

    return reencode_window(
        src, dest, 0.0, span_s, picture=upscale, scale=scale, check_size=check_size, crf=20, threads=threads,
        report=report, nothing="no frame in the span to up-scale",
    )  # fmt: skip
