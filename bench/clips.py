"""The benchmark clip the video benches share: 60 s of 1280x720 H.264 with real texture in motion."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import MEDIA
from tests.variants import write_video


def moving_clip(path: Path, seconds: int = 60, fps: int = 30, size: tuple[int, int] = (1280, 720)) -> Path:
    """A 720p clip with real texture in motion: a photo panned across the frame plus a moving gradient."""
    photo = np.asarray(Image.open(MEDIA / "image" / "skimage_golden_eagle.png").convert("RGB").resize((1600, 1000)))
    w, h = size

    def frames():
        for i in range(seconds * fps):
            x = int(150 + 150 * np.sin(i / 40))
            y = int(120 + 100 * np.cos(i / 55))
            frame = photo[y : y + h, x : x + w].copy()
            frame[:, :, 2] = (frame[:, :, 2].astype(np.int32) + i) % 256
            yield frame

    return write_video(path, frames(), fps)
