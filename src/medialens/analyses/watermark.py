"""Watermark removal (PAI ``watermark_remover``): find overlaid text, then fill it in from its surroundings.

No learned inpainting model is available offline (LaMa and the like are hub-tier candidates), so this is the
classical method, and results say so (``method``):

1. **Find** text with the OCR pipeline (``ppocr-v5``: PP-OCRv4 DB text detection, then PP-OCRv5 recognition).
   Only lines the recogniser reads with a confidence of at least ``min_score`` count: the recogniser is a good
   filter against the detector firing on texture (fur, foliage, grass), and watermarks are text by definition
   here (the timestamps, handles, site names and "©" lines that video and social platforms stamp on). Unread
   detector boxes on the same line as a read one, at most 1.5 line heights away, go with it (a "©", a small logo
   or symbol beside the name). A line whose quadrilateral covers more than ``max_region_fraction`` of the image is left
   alone: that is the content (a screenshot, a poster), not an overlay. Logos without text next to them are not
   detected (no classical detector separates a logo from the scene reliably).
2. **Mask**: each line's *area* is its quadrilateral (DB's box is already grown past the glyphs by its unclip
   step) dilated by ``3 px + 10 %`` of the line height (anti-aliasing, outlines, shadows). Inside the area, the
   *strokes* are the pixels that stand out from their neighbourhood (white and black top-hat with a disc wider
   than a stroke, Otsu threshold, dilated by ``2 px + 5 %`` of the line height): filling only the strokes keeps
   the texture between the letters. Where the strokes do not stand out clearly, the whole area is filled.
3. **Inpaint** with ``cv2.inpaint`` using Telea's fast-marching method (Telea 2004): each masked pixel is filled
   from a weighted average of known pixels within ``inpaint_radius``, marching inwards from the mask's border.
   Navier-Stokes (Bertalmio et al. 2001) is OpenCV's other method; we did not compare them systematically.
   Pixels outside the mask are not touched (bit-identical); alpha, when present, is kept as it was.
4. **Verify**: OCR runs again on the result. A line still read over a stroke-masked area has that whole area
   filled instead; a line read next to a removed one (a symbol that only became separable once the text was
   gone) is removed too. Then the fill is redone once from the original pixels.

Cost: two OCR passes (three when the verification finds something), 0.3-1.5 s for a 0.2-1 MP photo on 2 cores.

Text that is part of the scene (a shop sign, a book cover) is removed too when it passes the filters: a
classical detector cannot tell overlaid text from scene text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
from PIL import Image

from medialens.config import Settings
from medialens.models.loader import get_pipeline
from medialens.models.pipelines.ocr_v5 import OCR_MODEL

METHOD = f"{OCR_MODEL}-text+inpaint-telea"
NO_METHOD = "none"

Point = tuple[float, float]


@dataclass(frozen=True)
class WatermarkRegion:
    box: tuple[int, int, int, int]
    """Pixels inpainted for this line: x0, y0, x1, y1 (x1, y1 exclusive), in input-image pixels."""
    text: str
    """What the recogniser read there."""
    score: float
    quad: tuple[Point, Point, Point, Point]
    """The detector's quadrilateral (clockwise from the top-left), before dilation."""


@dataclass(frozen=True)
class WatermarkResult:
    image: Image.Image
    """The cleaned image: same size; L, RGB and RGBA keep their mode, other modes come back as RGB/RGBA."""
    regions: list[WatermarkRegion]
    """One per text line removed, in reading order; empty when nothing was found (``image`` is then unchanged)."""
    method: str
    """``ppocr-v5-text+inpaint-telea``, or ``none`` when nothing was removed."""
    mask: np.ndarray = field(repr=False)
    """H x W bool: the pixels that were inpainted."""


@dataclass(frozen=True)
class WatermarkOptions:
    min_score: float = 0.5
    max_region_fraction: float = 0.2
    dilate_px: int = 3
    dilate_height_fraction: float = 0.1
    inpaint_radius: int = 5
    min_stroke_contrast: float = 20.0
    """Grey levels by which glyph strokes must stand out (95th percentile of the top-hat) to be masked alone."""
    stroke_dilate_px: int = 2


def remove_watermarks(
    image: Image.Image, settings: Settings | None = None, options: WatermarkOptions | None = None
) -> WatermarkResult:
    """Detect overlaid text and inpaint it away (see the module doc). Raises ModelNotInstalledError without
    ``ppocr-v5``."""
    o = options or WatermarkOptions()
    pixels = _pixels(image)
    h, w = pixels.shape[:2]
    ocr = get_pipeline(OCR_MODEL, settings)
    rgb = _rgb(pixels)
    found = _text_regions(ocr, rgb, o)
    if not found:
        return WatermarkResult(Image.fromarray(pixels), [], NO_METHOD, np.zeros((h, w), bool))

    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    areas = [_area_mask((h, w), quad, o) for quad, _, _ in found]
    strokes = [_stroke_mask(gray, quad, area, o) for (quad, _, _), area in zip(found, areas, strict=True)]
    masks = [s if s is not None else a for s, a in zip(strokes, areas, strict=True)]
    out = _inpaint(pixels, masks, o)
    # Verification: text still read in the result means a stroke mask missed some (fill that whole area) or a
    # symbol beside a removed line was only exposed now (a "©" whose ring the detector merged away): remove it too.
    redo = False
    for quad, text, score in _text_regions(ocr, _rgb(out), o):
        hit = [i for i, area in enumerate(areas) if _overlaps(area, quad)]
        for i in hit:
            if masks[i] is not areas[i]:
                masks[i], redo = areas[i], True
        if not hit and any(_beside(quad, q) for q, _, _ in found):
            found.append((quad, text, score))
            areas.append(_area_mask((h, w), quad, o))
            masks.append(areas[-1])
            redo = True
    if redo:
        out = _inpaint(pixels, masks, o)

    regions = []
    for (quad, text, score), mask in zip(found, masks, strict=True):
        corners = tuple((float(x), float(y)) for x, y in quad)
        regions.append(WatermarkRegion(mask.box, text, score, corners))  # type: ignore[arg-type]
    return WatermarkResult(Image.fromarray(out), regions, METHOD, _union(pixels.shape, masks))


# -------------------------------------------------------------------- finding text


def _text_regions(ocr: Any, rgb: np.ndarray, o: WatermarkOptions) -> list[tuple[np.ndarray, str, float]]:
    """(quad, text, score) of the lines read with confidence, plus unread boxes beside them on the same line."""
    h, w = rgb.shape[:2]
    pre = ocr.preprocess(rgb)
    (raw,) = ocr.forward([pre])
    boxes = [(np.asarray(b, np.float32), t.strip(), float(sc)) for b, t, sc in raw]
    boxes = [b for b in boxes if cv2.contourArea(b[0]) <= o.max_region_fraction * h * w]
    keep = [bool(t) and sc >= o.min_score for _, t, sc in boxes]
    changed = True
    while changed:  # a "©", a logo or a symbol the recogniser cannot read, next to a line it did read
        changed = False
        for i, (quad, _, _) in enumerate(boxes):
            if not keep[i] and any(keep[j] and _beside(quad, boxes[j][0]) for j in range(len(boxes))):
                keep[i] = changed = True
    return [b for b, k in zip(boxes, keep, strict=True) if k]


def _beside(a: np.ndarray, b: np.ndarray) -> bool:
    """Same text line (centres within half a line height, similar heights) and a gap of at most 1.5 heights."""
    ay0, ay1, by0, by1 = a[:, 1].min(), a[:, 1].max(), b[:, 1].min(), b[:, 1].max()
    ha, hb = ay1 - ay0, by1 - by0
    if not 0.4 * hb <= ha <= 2.5 * hb:
        return False
    if abs((ay0 + ay1) / 2 - (by0 + by1) / 2) > 0.5 * hb:
        return False
    gap = max(a[:, 0].min() - b[:, 0].max(), b[:, 0].min() - a[:, 0].max())
    return bool(gap <= 1.5 * hb)


def _overlaps(mask: _Mask, quad: np.ndarray) -> bool:
    probe = np.zeros(mask.bits.shape, np.uint8)
    cv2.fillPoly(probe, [np.round(quad - np.array([mask.x0, mask.y0], np.float32)).astype(np.int32)], 1)
    return bool((probe.astype(bool) & mask.bits).any())


# -------------------------------------------------------------------- masks and filling


def _line_height(quad: np.ndarray) -> float:
    return float(min(
        (np.linalg.norm(quad[0] - quad[3]) + np.linalg.norm(quad[1] - quad[2])) / 2,
        (np.linalg.norm(quad[0] - quad[1]) + np.linalg.norm(quad[3] - quad[2])) / 2,
    ))  # fmt: skip


@dataclass(frozen=True)
class _Mask:
    """A boolean mask stored as its bounding window (``bits`` placed at ``y0, x0``) to keep big images cheap."""

    y0: int
    x0: int
    bits: np.ndarray

    @property
    def box(self) -> tuple[int, int, int, int]:
        ys, xs = np.nonzero(self.bits)
        x0, y0 = self.x0 + int(xs.min()), self.y0 + int(ys.min())
        return x0, y0, self.x0 + int(xs.max()) + 1, self.y0 + int(ys.max()) + 1

    def window(self, arr: np.ndarray) -> np.ndarray:
        return arr[self.y0 : self.y0 + self.bits.shape[0], self.x0 : self.x0 + self.bits.shape[1]]


def _area_mask(shape: tuple[int, int], quad: np.ndarray, o: WatermarkOptions) -> _Mask:
    """The quadrilateral, dilated by ``dilate_px + dilate_height_fraction * line height``."""
    r = max(1, round(o.dilate_px + o.dilate_height_fraction * _line_height(quad)))
    y0 = max(0, int(np.floor(quad[:, 1].min())) - r - 1)
    x0 = max(0, int(np.floor(quad[:, 0].min())) - r - 1)
    y1 = min(shape[0], int(np.ceil(quad[:, 1].max())) + r + 2)
    x1 = min(shape[1], int(np.ceil(quad[:, 0].max())) + r + 2)
    bits = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillPoly(bits, [np.round(quad - np.array([x0, y0], np.float32)).astype(np.int32)], 1)
    return _Mask(y0, x0, cv2.dilate(bits, _disc(r)).astype(bool))


def _stroke_mask(gray: np.ndarray, quad: np.ndarray, area: _Mask, o: WatermarkOptions) -> _Mask | None:
    """The glyph strokes inside ``area``: pixels standing out from their surroundings (white top-hat for light
    text, black top-hat for dark text, a structuring element wider than a stroke), Otsu-thresholded, dilated.
    None when no clear stroke layer is found (the caller then fills the whole area)."""
    height = _line_height(quad)
    pad = max(2, round(0.5 * height))
    ah, aw = area.bits.shape
    y0, x0 = max(0, area.y0 - pad), max(0, area.x0 - pad)
    y1, x1 = min(gray.shape[0], area.y0 + ah + pad), min(gray.shape[1], area.x0 + aw + pad)
    roi = gray[y0:y1, x0:x1]
    inside = np.zeros(roi.shape, bool)
    inside[area.y0 - y0 : area.y0 - y0 + ah, area.x0 - x0 : area.x0 - x0 + aw] = area.bits
    se = _disc(max(2, round(0.3 * height)))
    hats = [cv2.morphologyEx(roi, cv2.MORPH_TOPHAT, se), cv2.morphologyEx(roi, cv2.MORPH_BLACKHAT, se)]
    strength = [float(np.percentile(hat[inside], 95)) for hat in hats]
    best = max(strength)
    if best < o.min_stroke_contrast:
        return None
    strokes = np.zeros(roi.shape, bool)
    for hat, st in zip(hats, strength, strict=True):
        if st < 0.5 * best:
            continue
        otsu, _ = cv2.threshold(hat[inside].reshape(-1, 1), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        strokes |= hat > max(otsu, o.min_stroke_contrast / 2)
    r = max(1, round(o.stroke_dilate_px + 0.05 * height))
    strokes = cv2.dilate(strokes.astype(np.uint8), _disc(r)).astype(bool) & inside
    if not strokes.any():
        return None
    return _Mask(y0, x0, strokes)


def _union(shape: tuple[int, ...], masks: list[_Mask]) -> np.ndarray:
    union = np.zeros(shape[:2], bool)
    for m in masks:
        m.window(union)[...] |= m.bits
    return union


def _inpaint(pixels: np.ndarray, masks: list[_Mask], o: WatermarkOptions) -> np.ndarray:
    """Telea inpainting of the union of ``masks``, run on the masks' bounding window (plus the radius)."""
    union = _union(pixels.shape, masks)
    ys, xs = np.nonzero(union)
    m = o.inpaint_radius + 2
    y0, y1 = max(0, ys.min() - m), min(union.shape[0], ys.max() + m + 1)
    x0, x1 = max(0, xs.min() - m), min(union.shape[1], xs.max() + m + 1)
    out = pixels.copy()
    colour = out[y0:y1, x0:x1, :3] if out.ndim == 3 else out[y0:y1, x0:x1]
    inside = union[y0:y1, x0:x1]
    filled = cv2.inpaint(np.ascontiguousarray(colour), inside.astype(np.uint8), o.inpaint_radius, cv2.INPAINT_TELEA)
    colour[inside] = filled[inside]  # only the masked pixels change
    return out


def _disc(r: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))


def _pixels(image: Image.Image) -> np.ndarray:
    if image.mode not in ("L", "RGB", "RGBA"):
        has_alpha = image.mode in ("LA", "PA") or (image.mode == "P" and "transparency" in image.info)
        image = image.convert("RGBA" if has_alpha else "RGB")
    return np.array(image)


def _rgb(pixels: np.ndarray) -> np.ndarray:
    if pixels.ndim == 2:
        return np.ascontiguousarray(np.repeat(pixels[:, :, None], 3, axis=2))
    return np.ascontiguousarray(pixels[:, :, :3])
