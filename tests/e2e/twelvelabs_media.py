"""Generated test videos for the video-index tests: on-screen text, and speech over a still (with ground truth)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from tests.conftest import MEDIA

SALE_TEXT = ("SUMMER SALE", "50% OFF ALL SHOES")


def _font(size: int) -> ImageFont.ImageFont:
    for name in ("DejaVuSans-Bold.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


def text_card_video(out: Path, seconds: float = 4.0, fps: int = 10) -> Path:
    """A coloured card with big on-screen text (the text_in_video class's video); no audio."""
    img = Image.new("RGB", (640, 360), (20, 40, 120))
    draw = ImageDraw.Draw(img)
    draw.text((60, 90), SALE_TEXT[0], font=_font(64), fill=(255, 230, 0))
    draw.text((60, 200), SALE_TEXT[1], font=_font(40), fill=(255, 255, 255))
    rgb = np.asarray(img)
    with av.open(str(out), "w") as box:
        stream = box.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        for i in range(int(seconds * fps)):
            shifted = np.roll(rgb, i, axis=1)  # a slow pan, so frames are not identical
            for packet in stream.encode(av.VideoFrame.from_ndarray(shifted, format="rgb24")):
                box.mux(packet)
        for packet in stream.encode():
            box.mux(packet)
    return out


def speech_video(out: Path, audio: Path = MEDIA / "audio" / "jfk_ask_not.flac", fps: int = 5) -> Path:
    """A dark still with a speech on the audio track (the conversation-only class's video)."""
    with av.open(str(audio)) as src:
        astream = src.streams.audio[0]
        resampler = av.AudioResampler(format="s16", layout="mono", rate=16000)
        pcm = np.concatenate(
            [f.to_ndarray().reshape(-1) for frame in src.decode(astream) for f in resampler.resample(frame)]
        )
    seconds = len(pcm) / 16000
    still = np.full((360, 640, 3), 30, np.uint8)
    with av.open(str(out), "w") as box:
        v = box.add_stream("libx264", rate=fps)
        v.width, v.height, v.pix_fmt = 640, 360, "yuv420p"
        a = box.add_stream("aac", rate=16000)
        a.layout = "mono"
        for i in range(int(seconds * fps)):
            frame = still.copy()
            frame[:, : (i * 640) // max(1, int(seconds * fps))] += 10
            for packet in v.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                box.mux(packet)
        for packet in v.encode():
            box.mux(packet)
        step = 1024
        for k in range(0, len(pcm), step):
            chunk = pcm[k : k + step].reshape(1, -1)
            af = av.AudioFrame.from_ndarray(chunk, format="s16", layout="mono")
            af.sample_rate, af.pts, af.time_base = 16000, k, Fraction(1, 16000)
            for packet in a.encode(af):
                box.mux(packet)
        for packet in a.encode():
            box.mux(packet)
    return out
