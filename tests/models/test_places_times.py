"""VOD Location and Time from what is said and shown: place names (GeoNames) and time expressions, on strings and
through AIVideoTag's analysis of a generated card and of real test videos (which must get no invented place)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from medialens.analyses import places_times as pt
from tests.conftest import MEDIA
from tests.support import ensure_models


@pytest.mark.parametrize(
    ("text", "places", "times"),
    [
        ("New York to Paris on July 4th, 2024 at 10:30 pm.", ["New York", "Paris"], ["july 4th, 2024", "10:30 pm"]),
        ("SUMMER SALE OPENS 9 AM IN TOKYO", ["Tokyo"], ["summer", "9 am"]),
        ("Have a nice day, see you tomorrow morning", [], ["tomorrow", "morning"]),
        ("in 1961 the president of the United States", ["United States"], ["1961"]),
        ("Nice to meet you. May I ask?", [], []),
        ("paris hilton said the score was 4 to 2", [], []),
        ("Ask not what your country can do for you", [], []),
    ],
)  # fmt: skip
def test_places_and_times_in_text(text: str, places: list[str], times: list[str]) -> None:
    assert pt.place_names(text) == places
    assert pt.time_expressions(text) == times


def _card(out: Path) -> Path:
    from tests.e2e.twelvelabs_media import _font
    from tests.variants import slideshow

    img = Image.new("RGB", (640, 360), (20, 40, 120))
    draw = ImageDraw.Draw(img)
    draw.text((40, 80), "Live from Paris", font=_font(56), fill=(255, 255, 255))
    draw.text((40, 200), "Tonight at 10:30 pm", font=_font(48), fill=(255, 230, 0))
    img.save(out.with_suffix(".png"))
    return slideshow([out.with_suffix(".png")], out)


def _tags(path: Path, types: set[str]):
    from medialens.analyses.video_tags import tag_video
    from medialens.config import Settings
    from medialens.media.video import probe_video
    from medialens.tasks.intake import sampled_frames

    settings = Settings(model_dir=ensure_models("ppocr-v5", "mobilenet-v2", "nanodet", "e5-small-q4"))
    info = probe_video(path, settings=settings)
    return tag_video(path, info, list(sampled_frames(path, info, settings, 1.0)), settings, types)


def test_location_and_time_from_on_screen_text(tmp_path: Path) -> None:
    found = _tags(_card(tmp_path / "card.mp4"), {"ocr"})
    assert [x.tag for x in found.locations] == ["Paris"] and found.locations[0].times
    assert {"tonight", "10:30"} <= {x.tag for x in found.times}  # the OCR may read "pm" as a line of its own


@pytest.mark.parametrize("name", ["asl_bird.mkv", "basketball_gym.mp4", "intel_cars_parking_lot.mp4"])
def test_no_invented_location_or_time_offline(name: str) -> None:
    """No speech, no text, no Places365 model: nothing to say where or when (the ConSE scene is not used)."""
    found = _tags(MEDIA / "video" / name, {"ocr", "category"})
    assert found.locations == [] and found.times == []
