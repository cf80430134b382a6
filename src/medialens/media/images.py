"""Turn untrusted image bytes into an upright RGB Pillow image, refusing what would be unsafe or useless.

The order matters: sizes are judged from the header before any pixel is decoded, so a tiny file that claims
100000x100000 pixels costs nothing.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from medialens.config import Settings
from medialens.media.errors import DecodeError, TooLargeError, TooSmallError

_HIGH_BIT_DEPTH = {"I", "I;16", "I;16B", "I;16L", "I;16N"}
_WHITE = (255, 255, 255, 255)


def load_image(data: bytes, *, settings: Settings, check_min_side: bool = True) -> Image.Image:
    """Decode ``data`` into an RGB image with EXIF orientation applied.

    Raises TooLargeError (bytes or pixel count), TooSmallError (shorter side below ``image_min_side``) or
    DecodeError (not an image, truncated, corrupt).
    """
    if len(data) > settings.image_max_bytes:
        raise TooLargeError(f"image is larger than the limit of {settings.image_max_bytes} bytes")
    if not data:
        raise DecodeError("image could not be decoded: empty data")
    img = _open_header(data, settings)
    if check_min_side:
        _check_min_side(*img.size, settings.image_min_side)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own limit already held
            img.load()
    except Image.DecompressionBombError as err:
        raise TooLargeError(f"image is above the limit of {settings.image_max_pixels} pixels") from err
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as err:
        raise DecodeError(f"image could not be decoded: {_reason(err)}") from err
    return _to_rgb(_upright(img))


def _open_header(data: bytes, settings: Settings) -> Image.Image:
    """Open lazily (header only) and enforce the pixel limit before decoding."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as err:
        raise TooLargeError(f"image is above the limit of {settings.image_max_pixels} pixels") from err
    except UnidentifiedImageError as err:
        raise DecodeError("image could not be decoded: unknown or unsupported format") from err
    except (OSError, SyntaxError, ValueError, EOFError) as err:
        raise DecodeError(f"image could not be decoded: {_reason(err)}") from err
    width, height = img.size
    if width <= 0 or height <= 0:
        raise DecodeError("image could not be decoded: empty dimensions")
    if width * height > settings.image_max_pixels:
        raise TooLargeError(
            f"image resolution {width}x{height} is above the limit of {settings.image_max_pixels} pixels"
        )
    return img


def _check_min_side(width: int, height: int, min_side: int) -> None:
    # min() is unaffected by the EXIF rotation applied later, so the header size is enough.
    if min(width, height) < min_side:
        raise TooSmallError(f"image resolution {width}x{height} is below the minimum {min_side}x{min_side}")


def _upright(img: Image.Image) -> Image.Image:
    """Apply the EXIF orientation; a broken EXIF block is ignored rather than failing the image."""
    try:
        return ImageOps.exif_transpose(img)
    except (OSError, SyntaxError, ValueError, KeyError, TypeError):
        return img


def _to_rgb(img: Image.Image) -> Image.Image:
    """RGB with transparency flattened onto white (text drawn on transparent PNGs stays readable)."""
    if img.mode in _HIGH_BIT_DEPTH:
        # Pillow's own I;16 -> L conversion clips at 255 instead of scaling; keep the top 8 bits.
        arr = np.asarray(img, dtype=np.uint32)
        img = Image.fromarray(np.clip(arr >> 8, 0, 255).astype(np.uint8), mode="L")
    if img.mode in {"RGBA", "LA", "PA", "La", "RGBa"} or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", rgba.size, _WHITE), rgba).convert("RGB")
    return img if img.mode == "RGB" else img.convert("RGB")


def _reason(err: BaseException) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return text[:200]
