"""Watermark removal on real photos with a watermark stamped on by Pillow: afterwards OCR no longer reads it, the
removed region is where it was drawn, and every pixel outside the inpainted mask is unchanged."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from medialens.analyses.watermark import METHOD, NO_METHOD, remove_watermarks
from medialens.config import Settings
from medialens.models.loader import get_pipeline
from medialens.models.pipelines.ocr_v5 import OCR_MODEL
from tests.conftest import MEDIA
from tests.models.test_ocr import edit_distance
from tests.support import ensure_models

Box = tuple[int, int, int, int]


@pytest.fixture(scope="module")
def settings() -> Settings:
    return Settings(model_dir=ensure_models(OCR_MODEL))


def load(name: str) -> Image.Image:
    path = MEDIA / "image" / name
    if not path.is_file():
        pytest.fail(f"test media not found: {path}")
    with Image.open(path) as im:
        im.load()
        return im


def stamp(
    image: Image.Image, text: str, corner: str, font: ImageFont.FreeTypeFont, fill: tuple[int, int, int, int]
) -> tuple[Image.Image, Box]:
    """Alpha-composite ``text`` 12 px from ``corner`` (tl, tr, bl, br); returns the image (input mode) and the
    drawn text's box."""
    base = image.convert("RGBA")
    layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=font)
    m = 12
    x = m - x0 if corner[1] == "l" else base.width - m - x1
    y = m - y0 if corner[0] == "t" else base.height - m - y1
    draw.text((x, y), text, font=font, fill=fill)
    box = draw.textbbox((x, y), text, font=font)
    out = Image.alpha_composite(base, layer).convert(image.mode if image.mode in ("L", "RGB") else "RGB")
    return out, box  # type: ignore[return-value]


def compact(text: str) -> str:
    return "".join(text.split()).lower()


def overlap(a: Box, b: Box) -> float:
    """Intersection over the area of ``b``."""
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    return ix * iy / max(1, (b[2] - b[0]) * (b[3] - b[1]))


def found(needle: str, text: str) -> float:
    """How well ``needle`` is read somewhere in ``text``: the best 1 - edit distance / length over its substrings."""
    text, n = compact(text), len(needle)
    windows = [text[i : i + k] for k in range(max(1, n - 2), n + 3) for i in range(max(1, len(text) - k + 1))]
    return max((1 - edit_distance(w, needle) / n for w in windows), default=0.0)


def check_removed(image: Image.Image, drawn: Box, needle: str, settings: Settings) -> None:
    ocr = get_pipeline(OCR_MODEL, settings)
    # Read to begin with, allowing one misread character (PP-OCRv5 reads "meoialens" on the grey cameraman).
    assert found(needle, ocr(image).text) >= 1 - 1.5 / len(needle), "the stamped watermark should be readable"

    res = remove_watermarks(image, settings)
    assert res.method == METHOD and res.regions
    assert res.image.size == image.size and res.image.mode == image.mode
    assert found(needle, ocr(res.image).text) < 0.5
    # the removed regions cover the drawn text, and nothing far from it is touched
    assert sum(overlap(r.box, drawn) for r in res.regions) > 0.9
    x0, y0, x1, y1 = drawn
    pad = 6 + (y1 - y0)
    ys, xs = np.nonzero(res.mask)
    assert xs.min() >= x0 - pad and xs.max() < x1 + pad and ys.min() >= y0 - pad and ys.max() < y1 + pad
    # pixels outside the mask are bit-identical; inside, they changed
    before, after = np.asarray(image), np.asarray(res.image)
    assert np.array_equal(before[~res.mask], after[~res.mask])
    assert not np.array_equal(before[res.mask], after[res.mask])
    assert res.mask.mean() < 0.05


@pytest.mark.parametrize(
    ("name", "corner", "size", "fill"),
    [
        ("skimage_cat_chelsea.png", "br", 24, (255, 255, 255, 150)),  # white, 60 % opaque, over fur
        ("skimage_motorcycle.png", "tl", 30, (255, 255, 255, 120)),  # white, 47 % opaque, over a busy workshop
        ("skimage_motorcycle.png", "br", 26, (0, 0, 0, 170)),  # dark text
        ("skimage_cameraman.png", "br", 28, (255, 255, 255, 160)),  # greyscale (mode L) over grass
        ("face_rose_leslie_a.jpg", "bl", 48, (255, 255, 255, 128)),  # large: the "©" must go too
    ],
)
def test_latin_watermark_is_removed(name: str, corner: str, size: int, fill, settings: Settings) -> None:
    image, drawn = stamp(load(name), "© medialens 2026", corner, ImageFont.load_default(size=size), fill)
    check_removed(image, drawn, "medialens2026", settings)


CJK_FONT = Path(__file__).parent / "fonts" / "wqy-microhei-watermark-subset.ttf"
"""WenQuanYi Micro Hei cut to the watermark's glyphs (fonts/README.md): no system CJK font needed."""


def test_cjk_watermark_is_removed(settings: Settings) -> None:
    font = ImageFont.truetype(str(CJK_FONT), 32)
    # On a photo where the text is watermark-sized (1.7 % of it): on the small cat photo the 32 px CJK text alone
    # covers 4.6 %, above check_removed's 5 % cap once its mask is dilated (5.9 %, 1.29x the drawn box).
    image, drawn = stamp(load("skimage_motorcycle.png"), "水印示例 2026", "tr", font, (255, 255, 255, 160))
    check_removed(image, drawn, "水印示例", settings)


@pytest.mark.parametrize("name", ["skimage_cat_chelsea.png", "skimage_motorcycle.png", "face_rose_leslie_a.jpg"])
def test_clean_photo_is_unchanged(name: str, settings: Settings) -> None:
    image = load(name)
    res = remove_watermarks(image, settings)
    assert res.regions == [] and res.method == NO_METHOD and not res.mask.any()
    assert np.array_equal(np.asarray(res.image), np.asarray(image))


def test_alpha_is_kept(settings: Settings) -> None:
    font = ImageFont.load_default(size=28)
    image, drawn = stamp(load("skimage_cat_chelsea.png"), "medialens", "tl", font, (255, 255, 255, 255))
    rgba = image.convert("RGBA")
    rgba.putalpha(200)
    res = remove_watermarks(rgba, settings)
    assert res.image.mode == "RGBA" and res.regions
    assert (np.asarray(res.image)[..., 3] == 200).all()
    assert overlap(res.regions[0].box, drawn) > 0.9
