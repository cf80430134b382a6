"""PP-OCRv4 (Chinese + English) text reading: DB text detection → direction classifier → CRNN/SVTR recognition.

The three ONNX graphs come from the ``rapidocr-onnxruntime`` wheel; the pre- and post-processing around them is
ours and follows the published PaddleOCR formats:

* **Detection** (DB, Liao et al. 2020): the BGR image is resized so both sides are multiples of 32 (longest side
  at most ``det_max_side``; very small images are scaled up and padded so a lone text line still has room to be
  found), normalised with the ImageNet mean/std, and the network returns a text-probability map. The map is
  thresholded and dilated, each connected contour is scored by the mean probability inside it (DB's "slow"
  mode by default: on a low-contrast scan the rectangle's mean, the "fast" mode, dropped three of seven lines), and
  its minimum-area rectangle is "unclipped" (grown by ``area * ratio / perimeter`` on every side, which is what a
  polygon offset followed by a new minimum-area rectangle gives for a rectangle) back to the full text extent.
* **Crops**: each quadrilateral is cut out with a perspective transform; tall crops (height ≥ 1.5 × width) are
  turned 90° so vertical text is read along its length.
* **Direction** (0°/180°): crops are resized to 48×192 (kept ratio, right-padded); a confident "180" flips them.
* **Recognition**: crops are resized to height 48 with width by ratio, batched by similar aspect ratio, and the
  per-step softmax over 6625 classes (CTC blank, the 6623-character dictionary carried in the ONNX metadata under
  ``character``, and a space) is decoded greedily (argmax, collapse repeats, drop blanks).

Lines come back in reading order (rows top to bottom, left to right within a row; a page of vertical columns right
to left, each top to bottom) with their score and their box
as four (x, y) points, clockwise from the top-left, in the input image's pixel coordinates.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from medialens.config import Settings
from medialens.models.pipeline import Pipeline
from medialens.models.pipelines import register_pipeline

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

DET_FILE = "ch_PP-OCRv4_det_infer.onnx"
REC_FILE = "ch_PP-OCRv4_rec_infer.onnx"
CLS_FILE = "ch_ppocr_mobile_v2.0_cls_infer.onnx"

Point = tuple[float, float]


@dataclass(frozen=True)
class OcrLine:
    text: str
    score: float
    box: tuple[Point, Point, Point, Point]
    """Four (x, y) corners, clockwise from the top-left, in input-image pixels."""


@dataclass(frozen=True)
class OcrResult:
    lines: list[OcrLine]
    text: str
    """All line texts in reading order: lines of one row joined by a space, rows by a newline."""
    width: int = 0
    height: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "lines": [
                {"text": ln.text, "score": round(ln.score, 4), "box": [[round(x, 1), round(y, 1)] for x, y in ln.box]}
                for ln in self.lines
            ],
        }


@dataclass
class OcrPre:
    """A preprocessed image: the original BGR pixels and the detector's input tensor."""

    image: np.ndarray  # H x W x 3 uint8, BGR
    det_input: np.ndarray  # 1 x 3 x h x w float32
    scale: float  # det-input pixels per image pixel
    margin: int  # padding added on the top and left of the det input


@dataclass(frozen=True)
class OcrOptions:
    det_max_side: int = 960
    det_min_side: int = 64
    """Images whose short side is below this are scaled up (and padded), as a lone cropped text line otherwise
    fills the whole detector input and its borders are lost."""
    det_threshold: float = 0.3
    box_threshold: float = 0.5
    score_mode: str = "contour"
    """Box score region: ``rect`` (the minimum-area rectangle, DB's fast mode) or ``contour`` (the contour itself)."""
    unclip_ratio: float = 1.6
    min_box_side: float = 3.0
    max_candidates: int = 1000
    cls_threshold: float = 0.9
    use_cls: bool = True
    rec_batch: int = 6
    rec_height: int = 48
    rec_max_width: int = 3200
    drop_score: float = 0.5


def to_bgr(item: Any) -> np.ndarray:
    """A decoded image (PIL image or RGB/gray/RGBA ndarray) → H x W x 3 uint8 BGR (alpha over white).

    Files and encoded bytes are decoded by media/ before they get here: the pipeline takes no paths.
    """
    import numpy as np
    from PIL import Image

    if isinstance(item, Image.Image):
        return _pil_to_bgr(item)
    if isinstance(item, np.ndarray):
        arr = item
        if arr.dtype != np.uint8:
            arr = np.clip(arr, 0, 255).astype(np.uint8)
        if arr.ndim == 2:
            arr = np.repeat(arr[:, :, None], 3, axis=2)
        elif arr.ndim == 3 and arr.shape[2] == 4:
            return _pil_to_bgr(Image.fromarray(arr, "RGBA"))
        elif arr.ndim != 3 or arr.shape[2] != 3:
            raise ValueError(f"expected an H x W, H x W x 3 or H x W x 4 image array, got shape {arr.shape}")
        return np.ascontiguousarray(arr[:, :, ::-1])
    raise TypeError(f"expected a decoded image (PIL image or ndarray), not {type(item).__name__}")


def _pil_to_bgr(im: Image.Image) -> np.ndarray:
    import numpy as np
    from PIL import Image

    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        im = Image.alpha_composite(bg, rgba)
    rgb = np.asarray(im.convert("RGB"))
    return np.ascontiguousarray(rgb[:, :, ::-1])


@register_pipeline
class PPOCRv4Pipeline(Pipeline[Any, OcrPre, OcrResult]):
    """Image (path, bytes, PIL image or RGB ndarray) → :class:`OcrResult`."""

    model_name: ClassVar[str] = "ppocr-v4"
    max_batch_size: ClassVar[int] = 1  # detector inputs differ in size; one image per detector call
    det_file: ClassVar[str] = DET_FILE
    cls_file: ClassVar[str] = CLS_FILE
    rec_file: ClassVar[str] = REC_FILE

    def __init__(self, model_dir: Path, settings: Settings, options: OcrOptions | None = None) -> None:
        super().__init__(model_dir, settings)
        from medialens.models.runtime import onnx_session

        self.options = options or OcrOptions()
        self._det = onnx_session(model_dir / self.det_file, settings)
        self._cls = onnx_session(model_dir / self.cls_file, settings)
        self._rec = onnx_session(model_dir / self.rec_file, settings)
        self._det_in = self._det.get_inputs()[0].name
        self._cls_in = self._cls.get_inputs()[0].name
        self._rec_in = self._rec.get_inputs()[0].name
        self.characters = self._load_dictionary()

    def _load_dictionary(self) -> list[str]:
        meta = self._rec.get_modelmeta().custom_metadata_map
        raw = meta.get("character")
        if raw is None:
            dict_file = self.model_dir / "ppocr_keys_v1.txt"
            if not dict_file.is_file():
                raise RuntimeError("PP-OCR recogniser has no 'character' metadata and no ppocr_keys_v1.txt")
            raw = dict_file.read_text(encoding="utf-8")
        chars = raw.splitlines() if "\r" in raw else raw.split("\n")
        if chars and chars[-1] == "":
            chars.pop()
        # CTC blank first, then the dictionary, then the space PaddleOCR appends (use_space_char).
        table = ["", *chars, " "]
        n_classes = self._rec.get_outputs()[0].shape[-1]
        if isinstance(n_classes, int) and n_classes != len(table):
            raise RuntimeError(f"recogniser has {n_classes} classes but the dictionary gives {len(table)}")
        return table

    # ---------------------------------------------------------------- pipeline steps

    def preprocess(self, item: Any) -> OcrPre:
        image = to_bgr(item)
        det_input, scale, margin = self._det_input(image)
        return OcrPre(image=image, det_input=det_input, scale=scale, margin=margin)

    def forward(self, batch: Sequence[OcrPre]) -> list[list[tuple[np.ndarray, str, float]]]:
        """Run detection, direction and recognition; one list of (box, text, score) per image."""
        out = []
        for pre in batch:
            prob = self._det.run(None, {self._det_in: pre.det_input})[0][0, 0]
            boxes = self.boxes_from_map(prob, pre.scale, pre.margin, pre.image.shape[:2])
            crops = [crop_quad(pre.image, b) for b in boxes]
            if self.options.use_cls and crops:
                crops = self.classify_direction(crops)
            recs = self.recognize(crops)
            out.append([(b, t, s) for b, (t, s) in zip(boxes, recs, strict=True)])
        return out

    def postprocess(self, raw: list[tuple[np.ndarray, str, float]], item: Any, pre: OcrPre) -> OcrResult:
        kept = [(b, t.strip(), s) for b, t, s in raw if s >= self.options.drop_score and t.strip()]
        rows = reading_order([b for b, _, _ in kept])
        lines: list[OcrLine] = []
        row_texts: list[str] = []
        for row in rows:
            texts = []
            for idx in row:
                b, t, s = kept[idx]
                box = tuple((float(x), float(y)) for x, y in b)
                lines.append(OcrLine(text=t, score=float(s), box=box))  # type: ignore[arg-type]
                texts.append(t)
            row_texts.append(" ".join(texts))
        h, w = pre.image.shape[:2]
        return OcrResult(lines=lines, text="\n".join(row_texts), width=w, height=h)

    # ---------------------------------------------------------------- detection

    def _det_input(self, image: np.ndarray) -> tuple[np.ndarray, float, int]:
        import cv2
        import numpy as np

        h, w = image.shape[:2]
        o = self.options
        scale = 1.0
        if max(h, w) > o.det_max_side:
            scale = o.det_max_side / max(h, w)
        if min(h, w) * scale < o.det_min_side:
            scale = min(o.det_min_side / min(h, w), o.det_max_side / max(h, w) * 2)
        nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
        resized = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_LINEAR) if (nh, nw) != (h, w) else image
        # Pad to multiples of 32 with the median border colour (replicating edges would smear strokes outwards),
        # plus a margin when the image is small: a tight text-line crop then gets a background ring around it.
        margin = 16 if min(nh, nw) < 2 * o.det_min_side else 0
        ph = max(32, math.ceil((nh + 2 * margin) / 32) * 32)
        pw = max(32, math.ceil((nw + 2 * margin) / 32) * 32)
        border = np.concatenate([resized[0], resized[-1], resized[:, 0], resized[:, -1]]).reshape(-1, 3)
        fill = np.median(border, axis=0).astype(np.uint8)
        canvas = np.empty((ph, pw, 3), np.uint8)
        canvas[:] = fill
        canvas[margin : margin + nh, margin : margin + nw] = resized
        x = canvas.astype(np.float32) * (1.0 / 255.0)
        x -= np.array([0.485, 0.456, 0.406], np.float32)
        x /= np.array([0.229, 0.224, 0.225], np.float32)
        return np.ascontiguousarray(x.transpose(2, 0, 1)[None]), scale, margin

    def boxes_from_map(
        self, prob: np.ndarray, scale: float, margin: int, image_hw: tuple[int, int]
    ) -> list[np.ndarray]:
        """DB post-processing: quadrilaterals (4 x 2 float32, image pixels) sorted top-to-bottom, left-to-right."""
        import cv2
        import numpy as np

        o = self.options
        mask = (prob > o.det_threshold).astype(np.uint8)
        mask = cv2.dilate(mask, np.ones((2, 2), np.uint8))
        contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        h, w = image_hw
        boxes = []
        for contour in contours[: o.max_candidates]:
            (cx, cy), (rw, rh), angle = cv2.minAreaRect(contour)
            if min(rw, rh) < o.min_box_side:
                continue
            rect_pts = cv2.boxPoints(((cx, cy), (rw, rh), angle))
            region = contour.reshape(-1, 2).astype(np.float32) if o.score_mode == "contour" else rect_pts
            if _box_score(prob, region) < o.box_threshold:
                continue
            d = rw * rh * o.unclip_ratio / (2.0 * (rw + rh))
            rw, rh = rw + 2 * d, rh + 2 * d
            if min(rw, rh) < o.min_box_side + 2:
                continue
            pts = cv2.boxPoints(((cx, cy), (rw, rh), angle))
            pts = (pts - margin) / scale
            pts[:, 0] = np.clip(pts[:, 0], 0, w - 1)
            pts[:, 1] = np.clip(pts[:, 1], 0, h - 1)
            pts = order_points(pts)
            if min(np.linalg.norm(pts[0] - pts[1]), np.linalg.norm(pts[0] - pts[3])) < 2:
                continue
            boxes.append(pts.astype(np.float32))
        boxes.sort(key=lambda b: (round(float(b[0][1])), float(b[0][0])))
        return boxes

    # ---------------------------------------------------------------- direction and recognition

    def classify_direction(self, crops: list[np.ndarray]) -> list[np.ndarray]:
        """Turn crops the classifier reads as upside down (label 180, above ``cls_threshold``) the right way up."""
        import numpy as np

        out = list(crops)
        order = np.argsort([c.shape[1] / c.shape[0] for c in crops])
        for start in range(0, len(order), self.options.rec_batch):
            idx = order[start : start + self.options.rec_batch]
            batch = np.stack([_resize_norm(crops[i], 48, 192, 192) for i in idx])
            probs = self._cls.run(None, {self._cls_in: batch})[0]
            for i, p in zip(idx, probs, strict=True):
                if int(np.argmax(p)) == 1 and float(p[1]) > self.options.cls_threshold:
                    out[i] = np.ascontiguousarray(crops[i][::-1, ::-1])
        return out

    def recognize(self, crops: list[np.ndarray]) -> list[tuple[str, float]]:
        """Text and mean character confidence for each BGR line crop."""
        import numpy as np

        o = self.options
        results: list[tuple[str, float]] = [("", 0.0)] * len(crops)
        if not crops:
            return results
        ratios = [c.shape[1] / max(1, c.shape[0]) for c in crops]
        order = np.argsort(ratios)
        for start in range(0, len(order), o.rec_batch):
            idx = order[start : start + o.rec_batch]
            max_ratio = max(max(ratios[i] for i in idx), 320 / 48)
            width = min(o.rec_max_width, math.ceil(o.rec_height * max_ratio))
            batch = np.stack([_resize_norm(crops[i], o.rec_height, width, width) for i in idx])
            probs = self._rec.run(None, {self._rec_in: batch})[0]
            for i, p in zip(idx, probs, strict=True):
                results[i] = self.ctc_decode(p)
        return results

    def ctc_decode(self, probs: np.ndarray) -> tuple[str, float]:
        """Greedy CTC: argmax per step, collapse repeats, drop blanks (class 0); score = mean kept probability."""
        import numpy as np

        ids = probs.argmax(axis=1)
        conf = probs.max(axis=1)
        keep = ids != 0
        keep[1:] &= ids[1:] != ids[:-1]
        if not keep.any():
            return "", 0.0
        text = "".join(self.characters[i] for i in ids[keep])
        return text, float(np.mean(conf[keep]))

    def close(self) -> None:
        self._det = self._cls = self._rec = None  # type: ignore[assignment]


# -------------------------------------------------------------------- geometry helpers


def order_points(pts: np.ndarray) -> np.ndarray:
    """4 x 2 points → top-left, top-right, bottom-right, bottom-left."""
    import numpy as np

    by_x = pts[np.argsort(pts[:, 0], kind="stable")]
    left, right = by_x[:2], by_x[2:]
    tl, bl = left[np.argsort(left[:, 1], kind="stable")]
    tr, br = right[np.argsort(right[:, 1], kind="stable")]
    return np.array([tl, tr, br, bl], dtype=np.float32)


def _box_score(prob: np.ndarray, pts: np.ndarray) -> float:
    """Mean probability inside the quadrilateral (DB's "fast" score)."""
    import cv2
    import numpy as np

    h, w = prob.shape
    xmin = int(np.clip(np.floor(pts[:, 0].min()), 0, w - 1))
    xmax = int(np.clip(np.ceil(pts[:, 0].max()), 0, w - 1))
    ymin = int(np.clip(np.floor(pts[:, 1].min()), 0, h - 1))
    ymax = int(np.clip(np.ceil(pts[:, 1].max()), 0, h - 1))
    mask = np.zeros((ymax - ymin + 1, xmax - xmin + 1), np.uint8)
    shifted = (pts - np.array([xmin, ymin], np.float32)).round().astype(np.int32)
    cv2.fillPoly(mask, [shifted], 1)
    if not mask.any():
        return 0.0
    return float(cv2.mean(prob[ymin : ymax + 1, xmin : xmax + 1], mask)[0])


def crop_quad(image: np.ndarray, box: np.ndarray) -> np.ndarray:
    """Perspective-rectify one quadrilateral (tl, tr, br, bl); tall results are turned 90° to read along."""
    import cv2
    import numpy as np

    pts = box.astype(np.float32)
    width = max(1, round(max(np.linalg.norm(pts[0] - pts[1]), np.linalg.norm(pts[3] - pts[2]))))
    height = max(1, round(max(np.linalg.norm(pts[0] - pts[3]), np.linalg.norm(pts[1] - pts[2]))))
    dst = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)
    m = cv2.getPerspectiveTransform(pts, dst)
    crop = cv2.warpPerspective(image, m, (width, height), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    if height >= 1.5 * width:
        crop = np.ascontiguousarray(np.rot90(crop))
    return crop


def _resize_norm(crop: np.ndarray, height: int, width: int, max_width: int) -> np.ndarray:
    """Resize to ``height`` keeping the ratio (at most ``width``), scale to [-1, 1], right-pad with zeros → CHW."""
    import cv2
    import numpy as np

    h, w = crop.shape[:2]
    new_w = min(width, max_width, max(1, math.ceil(height * w / max(1, h))))
    resized = cv2.resize(crop, (new_w, height), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    resized = resized.transpose(2, 0, 1) / 255.0
    resized = (resized - 0.5) / 0.5
    out = np.zeros((3, height, width), np.float32)
    out[:, :, :new_w] = resized
    return out


def reading_order(boxes: list[np.ndarray]) -> list[list[int]]:
    """Rows of horizontal text top to bottom (each left to right); a page of vertical columns right to left.

    A page is read as vertical when most of its boxes are tall (height ≥ 1.5 × width: the crops that are turned to
    be read along their length); its columns (horizontal centres within half a column width of each other) are
    then ordered right to left, as vertical Chinese and Japanese are written, and each column top to bottom.
    """
    if not boxes:
        return []
    info = []
    for i, b in enumerate(boxes):
        y0, y1 = min(float(p[1]) for p in b), max(float(p[1]) for p in b)
        x0, x1 = min(float(p[0]) for p in b), max(float(p[0]) for p in b)
        info.append((i, (y0 + y1) / 2, y1 - y0, x0, (x0 + x1) / 2, x1 - x0))
    tall = sum(1 for e in info if e[2] >= 1.5 * e[5])
    if 2 * tall > len(info):
        return _columns_right_to_left(info)
    info.sort(key=lambda t: t[1])
    rows: list[list[tuple[float, ...]]] = []
    for entry in info:
        if rows:
            row = rows[-1]
            row_cy = sum(e[1] for e in row) / len(row)
            row_h = sorted(e[2] for e in row)[len(row) // 2]
            if abs(entry[1] - row_cy) <= 0.5 * min(row_h, entry[2]):
                row.append(entry)
                continue
        rows.append([entry])
    return [[int(e[0]) for e in sorted(row, key=lambda e: e[3])] for row in rows]


def _columns_right_to_left(info: list[tuple[float, ...]]) -> list[list[int]]:
    """(index, cy, height, xmin, cx, width) entries → columns, rightmost first, each top to bottom."""
    cols: list[list[tuple[float, ...]]] = []
    for entry in sorted(info, key=lambda t: -t[4]):
        if cols:
            col = cols[-1]
            col_cx = sum(e[4] for e in col) / len(col)
            col_w = sorted(e[5] for e in col)[len(col) // 2]
            if abs(entry[4] - col_cx) <= 0.5 * min(col_w, entry[5]):
                col.append(entry)
                continue
        cols.append([entry])
    return [[int(e[0]) for e in sorted(col, key=lambda e: e[1] - e[2] / 2)] for col in cols]
