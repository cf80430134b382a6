"""Copies of the test videos as a video-fingerprinting system must still recognise them (issue 13): re-encoded,
resized, cropped by 10 %, mirrored, letterboxed, overlaid with a banner and text, re-timed, cut to an excerpt of at
least 5 s, and combinations; made by the tests from tests/media, never shipped."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import av
import cv2
import numpy as np

from tests.variants import read_frames

MAX_SOURCE_S = 15.0  # longer test videos are cut to their first 15 s (the "original" the library holds)
EXCERPT_S = 6.0


def _even(x: float) -> int:
    return max(2, int(x) // 2 * 2)


def write(path: Path, frames: Iterator[np.ndarray], fps: float, crf: int = 20, preset: str = "ultrafast") -> Path:
    """H.264 in MP4; ``preset`` is libx264's (ultrafast: no B frames, no CABAC, quick to write)."""
    with av.open(str(path), "w") as container:
        stream = None
        for rgb in frames:
            if stream is None:
                stream = container.add_stream("libx264", rate=round(fps))
                stream.width, stream.height = _even(rgb.shape[1]), _even(rgb.shape[0])
                stream.pix_fmt = "yuv420p"
                stream.options = {"crf": str(crf), "preset": preset}
            rgb = np.ascontiguousarray(rgb[: stream.height, : stream.width])
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                container.mux(packet)
        if stream is not None:
            for packet in stream.encode():
                container.mux(packet)
    return path


def frames_of(path: Path) -> tuple[list[np.ndarray], float]:
    frames, rate = [], 25.0
    for rgb, rate in read_frames(path):
        frames.append(rgb)
        if len(frames) >= MAX_SOURCE_S * rate:
            break
    return frames, rate


def crop10(rgb: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    dy, dx = int(h * 0.05), int(w * 0.05)
    return cv2.resize(rgb[dy : h - dy, dx : w - dx], (w, h))


def mirror(rgb: np.ndarray) -> np.ndarray:
    return rgb[:, ::-1]


def letterbox(rgb: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    bar = int(h * 0.125)
    inner = cv2.resize(rgb, (w, h - 2 * bar))
    out = np.zeros_like(rgb)
    out[bar : h - bar] = inner
    return out


def banner(rgb: np.ndarray) -> np.ndarray:
    out = rgb.copy()
    h, w = out.shape[:2]
    cv2.rectangle(out, (0, int(h * 0.82)), (w, h), (200, 30, 30), -1)
    cv2.putText(out, "BREAKING NEWS 24/7", (10, int(h * 0.95)), cv2.FONT_HERSHEY_SIMPLEX, h / 400, (255, 255, 255), 2)
    cv2.rectangle(out, (int(w * 0.7), int(h * 0.05)), (int(w * 0.95), int(h * 0.2)), (255, 255, 0), 3)
    return out


def resize(rgb: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    scale = 0.6 if min(h, w) * 0.6 >= 240 else 1.5
    return cv2.resize(rgb, (_even(w * scale), _even(h * scale)), interpolation=cv2.INTER_AREA)


def brighter(rgb: np.ndarray) -> np.ndarray:
    return np.clip(rgb.astype(np.int16) + 40, 0, 255).astype(np.uint8)


def _same(rgb: np.ndarray) -> np.ndarray:
    return rgb


# name -> (per-frame change, keep every n-th frame, crf, excerpt)
TRANSFORMS: dict[str, tuple[Callable[[np.ndarray], np.ndarray], int, int, bool]] = {
    "reencode": (_same, 1, 36, False),
    "resize": (resize, 1, 23, False),
    "crop10": (crop10, 1, 23, False),
    "mirror": (mirror, 1, 23, False),
    "letterbox": (letterbox, 1, 23, False),
    "banner": (banner, 1, 23, False),
    "fps": (_same, 2, 23, False),
    "excerpt": (_same, 1, 23, True),
    "crop+banner+reencode": (lambda f: banner(crop10(f)), 1, 34, False),
    "mirror+letterbox+fps": (lambda f: letterbox(mirror(f)), 2, 28, False),
}


def make_copy(frames: list[np.ndarray], rate: float, name: str, out: Path) -> Path | None:
    """The ``name`` copy of a video's frames, or None when it does not apply (an excerpt of a short video)."""
    change, every, crf, excerpt = TRANSFORMS[name]
    if excerpt:
        n = int(EXCERPT_S * rate)
        if len(frames) < n + rate:  # needs a video clearly longer than the excerpt
            return None
        start = (len(frames) - n) // 2
        frames = frames[start : start + n]
    return write(out, (change(f) for f in frames[::every]), rate / every, crf)


def make_original(src: Path, out: Path) -> tuple[Path, list[np.ndarray], float]:
    frames, rate = frames_of(src)
    return write(out, iter(frames), rate, 18), frames, rate
