"""Degraded and synthetic copies of the shared media, made by the tests themselves."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path

import av
import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont


def blurred(img: Image.Image, radius: float = 4.0) -> Image.Image:
    return img.filter(ImageFilter.GaussianBlur(radius))


def noisy(img: Image.Image, sigma: float = 25.0, seed: int = 0) -> Image.Image:
    arr = np.asarray(img.convert("RGB"), dtype=np.float32)
    arr += np.random.default_rng(seed).normal(0, sigma, arr.shape)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def jpeg_crushed(img: Image.Image, quality: int = 5) -> Image.Image:
    buf = io.BytesIO()
    img.convert("RGB").save(buf, "JPEG", quality=quality)
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def image_variants(src: Path, out_dir: Path) -> dict[str, Path]:
    """clean (PNG re-save), blur, noise and jpeg copies of one image."""
    img = Image.open(src).convert("RGB")
    paths = {}
    for name, make in {"clean": lambda i: i, "blur": blurred, "noise": noisy, "jpeg": jpeg_crushed}.items():
        paths[name] = out_dir / f"{src.stem}_{name}.png"
        make(img).save(paths[name])
    return paths


def read_frames(path: Path) -> Iterator[tuple[np.ndarray, float]]:
    """All frames of a video as RGB arrays with their rate (for re-encoding degraded copies)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        rate = float(stream.average_rate or 25)
        for frame in container.decode(stream):
            yield frame.to_ndarray(format="rgb24"), rate


def write_video(path: Path, frames: Iterator[np.ndarray], fps: int, codec: str = "libx264") -> Path:
    with av.open(str(path), "w") as container:
        stream = None
        for rgb in frames:
            if stream is None:
                stream = container.add_stream(codec, rate=fps)
                stream.width, stream.height = rgb.shape[1], rgb.shape[0]
                stream.pix_fmt = "yuv420p"
                stream.options = {"crf": "18", "preset": "veryfast"} if codec == "libx264" else {}
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                container.mux(packet)
        if stream is not None:
            for packet in stream.encode():
                container.mux(packet)
    return path


def degraded_video(src: Path, out: Path, degrade: Callable[[np.ndarray], np.ndarray]) -> Path:
    frames = list(read_frames(src))
    fps = round(frames[0][1])
    return write_video(out, (degrade(f) for f, _ in frames), fps)


def blur_frame(rgb: np.ndarray) -> np.ndarray:
    return cv2.GaussianBlur(rgb, (0, 0), 3.0)


def noise_frame(rgb: np.ndarray, sigma: float = 30.0) -> np.ndarray:
    noise = np.random.default_rng(0).normal(0, sigma, rgb.shape)
    return np.clip(rgb.astype(np.float32) + noise, 0, 255).astype(np.uint8)


def slideshow(images: list[Path], out: Path, seconds_each: float = 2.0, fps: int = 25, size=(640, 480)) -> Path:
    """A video of still photos shown one after another (what `single_img` should call static)."""
    stills = [np.asarray(Image.open(p).convert("RGB").resize(size)) for p in images]
    frames = (still for still in stills for _ in range(int(seconds_each * fps)))
    return write_video(out, frames, fps)


def stamp_watermark(src: Path, out: Path, text: str = "WATERMARK 2026") -> Path:
    """A photo with overlaid semi-transparent text in a corner, as social platforms stamp them."""
    img = Image.open(src).convert("RGBA")
    layer = Image.new("RGBA", img.size, (0, 0, 0, 0))
    font = ImageFont.load_default(size=max(16, img.height // 12))
    ImageDraw.Draw(layer).text((10, img.height - img.height // 6), text, fill=(255, 255, 255, 170), font=font)
    Image.alpha_composite(img, layer).convert("RGB").save(out)
    return out
