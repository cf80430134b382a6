"""AI covers: never a black, white or flat frame; sharp frames with a face rank first; picks are spread in time."""

from __future__ import annotations

import numpy as np
from PIL import Image

from medialens.analyses.covers import choose_covers
from medialens.config import Settings
from medialens.media.types import Frame
from tests.conftest import MEDIA
from tests.support import ensure_models


def test_covers_skip_black_and_prefer_faces() -> None:
    settings = Settings(model_dir=ensure_models("dlib-face"))
    face = np.asarray(Image.open(MEDIA / "image" / "face_kit_harington_a.jpeg").convert("RGB").resize((640, 480)))
    coins = np.asarray(Image.open(MEDIA / "image" / "skimage_coins.png").convert("RGB").resize((640, 480)))
    black = np.zeros((480, 640, 3), np.uint8)
    white = np.full((480, 640, 3), 250, np.uint8)
    blurred = np.asarray(Image.fromarray(coins).resize((32, 24)).resize((640, 480)))
    frames = [Frame(float(t), f) for t, f in enumerate([black, white, blurred, coins, black, face, face, coins])]
    chosen = choose_covers(frames, settings, count=5)
    times = [c.t for c in chosen]
    assert times[0] in (5.0, 6.0)  # a face first
    assert not {0.0, 1.0, 4.0} & set(times)  # never black or white
    assert all(abs(a - b) >= 2.0 for i, a in enumerate(times) for b in times[i + 1 :])
    assert [c.score for c in chosen] == sorted((c.score for c in chosen), reverse=True)
