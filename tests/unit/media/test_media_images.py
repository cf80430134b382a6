"""Image intake on the shared real images plus hand-made hostile ones."""

from __future__ import annotations

import io
import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from medialens.config import Settings
from medialens.media.errors import DecodeError, TooLargeError, TooSmallError
from medialens.media.images import load_image


def _encode(img: Image.Image, fmt: str, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def _png_claiming(width: int, height: int) -> bytes:
    """A PNG whose IHDR (with a correct CRC) claims ``width`` x ``height`` but holds a few bytes of data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")
    )


def test_real_images(image_record: dict, media_dir: Path, settings: Settings) -> None:
    data = (media_dir / image_record["file"]).read_bytes()
    width, height = image_record["meta"]["width"], image_record["meta"]["height"]
    if min(width, height) < settings.image_min_side:
        with pytest.raises(TooSmallError, match=f"image resolution {width}x{height} is below the minimum"):
            load_image(data, settings=settings)
    else:
        img = load_image(data, settings=settings)
        assert (img.mode, img.size) == ("RGB", (width, height))
    img = load_image(data, settings=settings, check_min_side=False)  # OCR crops are still usable
    assert (img.mode, img.size) == ("RGB", (width, height))


def test_palette_and_grey_become_rgb(media_dir: Path, settings: Settings) -> None:
    grey = load_image((media_dir / "image/skimage_cameraman.png").read_bytes(), settings=settings)
    arr = np.asarray(grey)
    assert arr.shape == (512, 512, 3)
    assert np.array_equal(arr[..., 0], arr[..., 2])  # grey stays grey


def test_transparency_is_flattened_onto_white(settings: Settings) -> None:
    img = Image.new("RGBA", (300, 300), (0, 0, 0, 0))
    img.paste((0, 0, 0, 255), (100, 100, 200, 200))
    arr = np.asarray(load_image(_encode(img, "PNG"), settings=settings))
    assert tuple(arr[10, 10]) == (255, 255, 255)
    assert tuple(arr[150, 150]) == (0, 0, 0)


def test_cmyk_jpeg_becomes_rgb(settings: Settings) -> None:
    img = Image.new("CMYK", (300, 260), (0, 255, 255, 0))  # red in CMYK
    out = load_image(_encode(img, "JPEG", quality=95), settings=settings)
    assert out.mode == "RGB"
    r, g, b = np.asarray(out)[130, 150]
    assert r > 200 and g < 60 and b < 60


def test_16_bit_grey_is_scaled_not_clipped(settings: Settings) -> None:
    arr = np.full((250, 250), 32768, dtype=np.uint16)
    arr[:, :125] = 65535
    data = _encode(Image.fromarray(arr), "PNG")
    out = np.asarray(load_image(data, settings=settings))
    assert tuple(out[0, 0]) == (255, 255, 255)
    assert tuple(out[0, 200]) == (128, 128, 128)


def test_exif_orientation_is_applied(settings: Settings) -> None:
    img = Image.new("RGB", (400, 300), (255, 0, 0))
    img.paste((0, 0, 255), (200, 0, 400, 300))  # left half red, right half blue
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    out = load_image(_encode(img, "JPEG", exif=exif.tobytes(), quality=95), settings=settings)
    assert out.size == (300, 400)
    arr = np.asarray(out).astype(int)
    assert arr[50, 150, 0] > 200 and arr[50, 150, 2] < 60  # the left (red) half is now on top
    assert arr[350, 150, 2] > 200 and arr[350, 150, 0] < 60


def test_too_small_message(settings: Settings) -> None:
    data = _encode(Image.new("RGB", (200, 150), (1, 2, 3)), "PNG")
    with pytest.raises(TooSmallError) as info:
        load_image(data, settings=settings)
    assert str(info.value) == "image resolution 200x150 is below the minimum 240x240"
    assert load_image(data, settings=settings, check_min_side=False).size == (200, 150)


@pytest.mark.parametrize("side", [100_000, 9_000])  # beyond Pillow's own bomb limit, and only beyond ours
def test_pixel_bomb_header_is_refused_before_decoding(settings: Settings, side: int) -> None:
    data = _png_claiming(side, side)
    assert len(data) < 200
    start = time.perf_counter()
    with pytest.raises(TooLargeError, match="above the limit of 60000000 pixels"):
        load_image(data, settings=settings)
    assert time.perf_counter() - start < 0.5


def test_pixel_limit_comes_from_settings(media_dir: Path, settings: Settings) -> None:
    tight = settings.model_copy(update={"image_max_pixels": 100_000})
    with pytest.raises(TooLargeError, match="above the limit of 100000 pixels"):
        load_image((media_dir / "image/skimage_cat_chelsea.png").read_bytes(), settings=tight)


def test_byte_limit(media_dir: Path, settings: Settings) -> None:
    tight = settings.model_copy(update={"image_max_bytes": 1000})
    with pytest.raises(TooLargeError, match="limit of 1000 bytes"):
        load_image((media_dir / "image/skimage_cat_chelsea.png").read_bytes(), settings=tight)


@pytest.mark.parametrize(
    ("name", "cut"),
    [("face_rose_leslie_b.jpg", 0.5), ("skimage_cat_chelsea.png", 0.5), ("skimage_coins.png", 0.05)],
)
def test_truncated_images(media_dir: Path, settings: Settings, name: str, cut: float) -> None:
    data = (media_dir / "image" / name).read_bytes()
    with pytest.raises(DecodeError, match=r"^image could not be decoded: "):
        load_image(data[: int(len(data) * cut)], settings=settings)


@pytest.mark.parametrize(
    "data",
    [b"", b"not an image at all", np.random.default_rng(0).bytes(5000), b"\x89PNG\r\n\x1a\n" + b"\0" * 40],
    ids=["empty", "text", "random", "png-magic-only"],
)
def test_junk_bytes(settings: Settings, data: bytes) -> None:
    with pytest.raises(DecodeError, match=r"^image could not be decoded: "):
        load_image(data, settings=settings)
