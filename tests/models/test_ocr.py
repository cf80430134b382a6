"""The OCR pipeline (``ppocr-v5``: PP-OCRv4 detector, PP-OCRv5 recogniser) on real images: character accuracy per
script against the labelled text, lines rendered from free fonts for French and Russian, vertical columns."""

from __future__ import annotations

import json
import time
import unicodedata
from pathlib import Path

import pytest
from PIL import Image

from medialens.config import Settings
from medialens.models.pipelines import pipeline_class
from medialens.models.pipelines.ocr_v5 import OCR_MODEL
from tests.conftest import MEDIA
from tests.support import ensure_models

LABELS = {e["file"]: e["truth"] for e in json.loads((MEDIA / "labels.json").read_text(encoding="utf-8"))}
REQUIRED = sorted(f for f in LABELS if f.startswith("image/ocr_zh_") or f == "image/ocr_en_scanned_page.png")
FONTS = Path(__file__).parent / "fonts"
# Character accuracy per script that the pipeline reaches (README), asserted a little below the measured value.
# Measured (PP-OCRv4 alone → this pipeline): zh 1.000 → 1.000 on all three, en 0.992 → 0.988, ja 0.470 → 0.983,
# la 1.000 → 1.000, fr (rendered) 0.804 → 0.935.
SCRIPT_FLOORS = {
    "image/ocr_ja_news_list_screenshot.jpg": ("ja", 0.95),
    "image/ocr_la_line_screenshot.jpg": ("la", 0.95),
}
FRENCH = "Le garçon a déjà goûté à la crème brûlée près de l'hôtel."
RUSSIAN = "Съешь же ещё этих мягких французских булок, да выпей чаю."


def open_image(path: Path) -> Image.Image:
    """The file decoded (as media/ does before a model runs): the pipeline takes images, not paths."""
    with Image.open(path) as im:
        im.load()
        return im


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insert, delete, substitute: cost 1 each)."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def char_accuracy(predicted: str, truth: str) -> float:
    """1 - normalised edit distance over the concatenated text, whitespace ignored; floored at 0."""
    p, t = "".join(predicted.split()), "".join(truth.split())
    return max(0.0, 1.0 - edit_distance(p, t) / max(1, len(t)))


def score(text: str, truth: dict) -> float:
    """Accuracy for labels with full text or lines; the found fraction of ``text_contains`` otherwise."""
    if "text" in truth:
        return char_accuracy(text, truth["text"])
    if "text_lines" in truth:
        return char_accuracy(text, "".join(truth["text_lines"]))
    flat = "".join(text.split())
    return sum("".join(s.split()) in flat for s in truth["text_contains"]) / len(truth["text_contains"])


@pytest.fixture(scope="module")
def ocr():
    d = ensure_models(OCR_MODEL) / OCR_MODEL
    pipe = pipeline_class(OCR_MODEL)(d, Settings())
    yield pipe
    pipe.close()


def test_edit_distance() -> None:
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance("", "abc") == 3
    assert char_accuracy("韩国 小馆", "韩国小馆") == 1.0
    assert char_accuracy("韩国小", "韩国小馆") == 0.75


@pytest.mark.parametrize("name", REQUIRED)
def test_ocr_accuracy(ocr, name: str) -> None:
    t0 = time.perf_counter()
    result = ocr(open_image(MEDIA / name))
    elapsed = time.perf_counter() - t0
    acc = score(result.text, LABELS[name])
    print(f"\n{name}: accuracy {acc:.3f} in {elapsed * 1000:.0f} ms: {result.text!r}")
    assert acc >= 0.90, result.text
    assert result.lines and result.text
    for line in result.lines:
        assert 0.5 <= line.score <= 1.0
        assert len(line.box) == 4
        xs, ys = [p[0] for p in line.box], [p[1] for p in line.box]
        assert 0 <= min(xs) <= max(xs) < result.width and 0 <= min(ys) <= max(ys) < result.height
        assert line.text in result.text


def _scripts(text: str) -> set[str]:
    """Unicode script words of the letters in ``text`` (LATIN, CJK, HANGUL, CYRILLIC, THAI, ...)."""
    return {unicodedata.name(c, "?").split()[0] for c in text if c.isalpha()}


def _dictionary_letters(ocr, script: str) -> int:
    return sum(1 for c in ocr.characters if c.isalpha() and unicodedata.name(c[0], "?").startswith(script))


@pytest.mark.parametrize("name", sorted(SCRIPT_FLOORS))
def test_ocr_accuracy_per_script(ocr, name: str) -> None:
    script, floor = SCRIPT_FLOORS[name]
    result = ocr(open_image(MEDIA / name))
    acc = score(result.text, LABELS[name])
    print(f"\n{script} ({name}): character accuracy {acc:.3f}: {result.text!r}")
    assert acc >= floor, result.text


def _rendered_line(text: str, font_file: str, size: int = 32) -> Image.Image:
    from PIL import ImageDraw, ImageFont

    font = ImageFont.truetype(str(FONTS / font_file), size)
    image = Image.new("RGB", (int(font.getlength(text)) + 40, size * 2 + 6), "white")
    ImageDraw.Draw(image).text((20, size // 2), text, font=font, fill="black")
    return image


def test_french_accents_are_read(ocr) -> None:
    """A French line rendered in DejaVu Sans: PP-OCRv4 dropped every accent (0.804); v5 keeps most (0.935)."""
    result = ocr(_rendered_line(FRENCH, "dejavu-sans-ocr-subset.ttf"))
    acc = char_accuracy(result.text, FRENCH)
    print(f"\nfr (rendered): character accuracy {acc:.3f}: {result.text!r}")
    assert acc >= 0.9, result.text
    assert {"ç", "à", "è", "é"} <= set(result.text)


def test_scripts_without_a_recogniser_are_not_guessed(ocr) -> None:
    """No recogniser in the bundle reads Cyrillic, Hangul or Thai (none found in registry packages yet): the v5
    dictionary holds 11 Cyrillic letters, 2 Hangul syllables and no Thai, so Russian, Korean and Thai are not read
    (Russian still comes out as look-alike Latin, Hangul as look-alike Chinese characters), while the Latin half
    of the Korean road sign is. A weakness measured, not hidden: this test fails once a recogniser reads them."""
    assert _dictionary_letters(ocr, "CYRILLIC") <= 11 and _dictionary_letters(ocr, "HANGUL") <= 2
    assert _dictionary_letters(ocr, "THAI") == 0
    russian = ocr(_rendered_line(RUSSIAN, "dejavu-sans-ocr-subset.ttf"))
    print(f"\nru (rendered): character accuracy {char_accuracy(russian.text, RUSSIAN):.3f}: {russian.text!r}")
    assert char_accuracy(russian.text, RUSSIAN) < 0.2
    sign = ocr(open_image(MEDIA / "image/ocr_ko_en_road_sign.png"))
    flat = "".join(sign.text.split())
    wanted = LABELS["image/ocr_ko_en_road_sign.png"]["text_contains"]
    latin = [w for w in wanted if _scripts(w) <= {"LATIN"}]
    hangul = [w for w in wanted if "HANGUL" in _scripts(w)]
    found = {name: sum(w in flat for w in words) for name, words in (("Latin", latin), ("Hangul", hangul))}
    print(f"\nko+en road sign: found {found} of {len(latin)} Latin and {len(hangul)} Hangul words: {sign.text!r}")
    assert latin and hangul and all(w in flat for w in latin)
    thai = ocr(open_image(MEDIA / "image/ocr_th_road_sign.jpg"))
    assert "THAI" not in _scripts(thai.text)


def test_vertical_columns_are_read_right_to_left(ocr) -> None:
    """Two vertical CJK columns (glyphs from the test font subset): the right column is the first line."""
    from PIL import ImageDraw, ImageFont

    columns = ["水印示例水印", "示例水印示例"]  # right column first, as vertical text is read
    font = ImageFont.truetype(str(FONTS / "wqy-microhei-watermark-subset.ttf"), 40)
    image = Image.new("RGB", (80 * len(columns) + 40, 42 * len(columns[0]) + 60), "white")
    draw = ImageDraw.Draw(image)
    for k, column in enumerate(columns):
        x = image.width - 80 - 80 * k
        for j, ch in enumerate(column):
            draw.text((x, 30 + 42 * j), ch, font=font, fill="black")
    result = ocr(image)
    print(f"\nvertical zh (rendered): {[line.text for line in result.lines]}")
    assert len(result.lines) == 2
    for line, truth in zip(result.lines, columns, strict=True):
        assert char_accuracy(line.text, truth) >= 0.8, line.text
    assert result.lines[0].box[0][0] > result.lines[1].box[0][0]
    assert result.text.split("\n")[0] == result.lines[0].text


def test_two_line_screenshot_reading_order(ocr) -> None:
    """RapidOCR's own test expects two lines here, the first about the execution provider."""
    result = ocr(open_image(MEDIA / "image/ocr_zh_en_screenshot_lines.jpg"))
    assert len(result.lines) == 2
    assert "取决于所使用的执行提供者" in result.lines[0].text
    assert "verbose日志" in result.lines[1].text
    assert result.lines[0].box[0][1] < result.lines[1].box[0][1]


def test_multiline_page_reading_order(ocr) -> None:
    result = ocr(open_image(MEDIA / "image/ocr_en_scanned_page.png"))
    rows = result.text.split("\n")
    assert rows[0].replace(" ", "") == "Region-basedsegmentation"
    tops = [min(p[1] for p in line.box) for line in result.lines]
    assert tops == sorted(tops)


def test_upside_down_text_is_turned(ocr) -> None:
    with Image.open(MEDIA / "image/ocr_zh_line_crop.jpg") as im:
        flipped = im.convert("RGB").rotate(180)
    result = ocr(flipped)
    assert char_accuracy(result.text, LABELS["image/ocr_zh_line_crop.jpg"]["text"]) >= 0.9


def test_blank_image_has_no_text(ocr) -> None:
    import numpy as np

    result = ocr(np.full((200, 300, 3), 255, np.uint8))
    assert result.lines == [] and result.text == ""


def test_paths_and_bytes_are_refused(ocr) -> None:
    """Decoding is media/'s job: the pipeline takes decoded images only."""
    path = MEDIA / "image/ocr_zh_line_crop.jpg"
    for item in (path, str(path), path.read_bytes()):
        with pytest.raises(TypeError, match="decoded image"):
            ocr(item)


def test_batch_matches_single(ocr) -> None:
    names = ["image/ocr_zh_shop_sign_crop.jpg", "image/ocr_zh_line_crop.jpg"]
    images = [open_image(MEDIA / n) for n in names]
    batch = ocr.run_batch(images)
    assert [r.text for r in batch] == [ocr(im).text for im in images]
