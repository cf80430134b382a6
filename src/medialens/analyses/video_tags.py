"""Smart tagging of a video (VOD AIVideoTag): category, keywords with the times they occur (speech and on-screen
text), persons (faces clustered across the video, named from the face library) — protocol-agnostic.

* category: the video classifier's top class over the sampled frames (analyses.video_classify);
* keyword: words of the speech transcript (Whisper, with segment times) and of on-screen text (``ppocr-v5`` on the
  sampled frames, seen in at least ``OCR_MIN_FRAMES`` frames or once with high confidence), stop words removed,
  most frequent first; with neither, the classifier's visual tags (without times);
* face: faces (MediaPipe full range, dlib embedding) of every sampled frame, clustered greedily by embedding
  distance (< ``SAME_PERSON``), a cluster named after the closest face-library entry within ``LIBRARY_MATCH``
  (clusters given the same name are one person), else "person N" in order of first appearance; the sharpest,
  largest face of each cluster is kept as its FaceUrl crop;
* location and time (``analyses.places_times``): place names (GeoNames gazetteer) and time expressions in what is
  said and shown; with the Places365 hub model also the scene, and day or night for an outdoor scene. The offline
  ConSE scene scores are not used (wrong on every test video, see that module).
"""

from __future__ import annotations

import io
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from medialens.analyses import places_times
from medialens.config import Settings
from medialens.media.types import Frame, VideoInfo
from medialens.models.loader import get_pipeline
from medialens.models.pipelines.ocr_v5 import OCR_MODEL

SAME_PERSON = 0.55
LIBRARY_MATCH = 0.6  # dlib's own same-person threshold on the 128-d embedding
MIN_FACE_SIDE = 40
OCR_MIN_SCORE = 0.85
OCR_MIN_FRAMES = 2
OCR_MAX_FRAMES = 24
MAX_KEYWORDS = 12
SCENE_MAX_FRAMES = 16
WORD = re.compile(r"[^\W\d_][\w'-]{2,}", re.UNICODE)
STOP = frozenset(
    [
        "the",
        "and",
        "for",
        "are",
        "but",
        "not",
        "you",
        "your",
        "with",
        "this",
        "that",
        "have",
        "from",
        "they",
        "will",
        "would",
        "there",
        "their",
        "what",
        "about",
        "which",
        "when",
        "make",
        "like",
        "time",
        "just",
        "know",
        "take",
        "into",
        "year",
        "some",
        "could",
        "them",
        "than",
        "then",
        "look",
        "only",
        "come",
        "over",
        "think",
        "also",
        "back",
        "after",
        "use",
        "two",
        "how",
        "our",
        "work",
        "first",
        "well",
        "way",
        "even",
        "new",
        "want",
        "because",
        "any",
        "these",
        "give",
        "day",
        "most",
        "very",
        "was",
        "were",
        "been",
        "has",
        "had",
        "can",
        "its",
        "it's",
        "i'm",
        "don't",
        "here",
        "where",
        "who",
        "why",
        "all",
        "one",
        "get",
        "got",
        "going",
        "yes",
        "okay",
        "yeah",
        "really",
        "right",
        "let's",
        "she",
        "her",
        "him",
        "his",
    ]
)


@dataclass
class Tagged:
    tag: str
    times: list[float] = field(default_factory=list)


@dataclass
class Person:
    tag: str
    times: list[float]
    face_jpeg: bytes


@dataclass
class VideoTagsResult:
    categories: list[str]
    keywords: list[Tagged]
    persons: list[Person]
    method: str
    locations: list[places_times.TimedTag] = field(default_factory=list)
    times: list[places_times.TimedTag] = field(default_factory=list)


def _words(text: str) -> list[str]:
    return [w.lower() for w in WORD.findall(text) if w.lower() not in STOP]


def _keywords(hits: dict[str, list[float]], counts: Counter) -> list[Tagged]:
    ranked = sorted(hits, key=lambda w: (-counts[w], min(hits[w]), w))[:MAX_KEYWORDS]
    return [Tagged(w, sorted(set(round(t, 2) for t in hits[w]))) for w in ranked]


def speech_keywords(
    path: Path, info: VideoInfo, settings: Settings, said: list[tuple[float, str]] | None = None
) -> tuple[dict[str, list[float]], Counter]:
    """Words of the transcript with their segments' start times; ``said`` collects the segments (start, text)."""
    from medialens.media.audio import read_audio
    from medialens.media.errors import DecodeError
    from medialens.models.pipelines.whisper import TranscriptionRequest

    hits: dict[str, list[float]] = defaultdict(list)
    counts: Counter = Counter()
    if not info.has_audio:
        return hits, counts
    try:
        audio = read_audio(path, max_seconds=min(info.duration_s, 600.0) or None)
    except DecodeError:
        return hits, counts
    tr = get_pipeline("whisper-base", settings).run_batch([TranscriptionRequest(audio, beam_size=1)])[0]
    for seg in tr.segments:
        if seg.no_speech_prob > 0.6:
            continue
        if said is not None:
            said.append((seg.start, seg.text))
        for w in _words(seg.text):
            hits[w].append(seg.start)
            counts[w] += 1
    return hits, counts


def text_keywords(
    frames: Sequence[Frame], settings: Settings, shown: list[tuple[float, str]] | None = None
) -> tuple[dict[str, list[float]], Counter]:
    """Words of on-screen text with the times they are seen; ``shown`` collects the lines (time, text)."""
    step = max(1, len(frames) // OCR_MAX_FRAMES)
    ocr = get_pipeline(OCR_MODEL, settings)
    seen: dict[str, list[float]] = defaultdict(list)
    best: dict[str, float] = defaultdict(float)
    for frame in frames[::step]:
        for line in ocr.run_batch([frame.rgb])[0].lines:
            if line.score < OCR_MIN_SCORE:
                continue
            if shown is not None:
                shown.append((frame.t, line.text))
            for w in set(_words(line.text)):
                seen[w].append(frame.t)
                best[w] = max(best[w], line.score)
    keep = {w: t for w, t in seen.items() if len(t) >= OCR_MIN_FRAMES or best[w] >= 0.97}
    return keep, Counter({w: len(t) for w, t in keep.items()})


def cluster_faces(
    frames: Sequence[Frame], settings: Settings, library: Sequence[tuple[str, np.ndarray]]
) -> list[Person]:
    """Faces of every frame, clustered across the video; named from ``library`` (name, 128-d) when close."""
    detector = get_pipeline("dlib-face", settings)
    clusters: list[dict] = []  # centroid sum, count, times, best crop, best quality
    for frame in frames:
        for face in detector.run_batch([frame.rgb])[0]:
            x0, y0, x1, y1 = (int(v) for v in face.bbox)
            side = min(x1 - x0, y1 - y0)
            if face.embedding is None or side < MIN_FACE_SIDE:
                continue
            emb = np.asarray(face.embedding, dtype=np.float32)
            near = min(clusters, key=lambda c: float(np.linalg.norm(c["sum"] / c["n"] - emb)), default=None)
            if near is None or float(np.linalg.norm(near["sum"] / near["n"] - emb)) >= SAME_PERSON:
                near = {"sum": np.zeros(128, np.float32), "n": 0, "times": [], "crop": None, "q": -1.0}
                clusters.append(near)
            near["sum"] += emb
            near["n"] += 1
            near["times"].append(round(frame.t, 2))
            quality = side * (1.0 + float(face.score))
            if quality > near["q"]:
                h, w = frame.rgb.shape[:2]
                pad = side // 3
                crop = frame.rgb[max(0, y0 - pad) : min(h, y1 + pad), max(0, x0 - pad) : min(w, x1 + pad)]
                near["crop"], near["q"] = crop, quality
    named: dict[str, dict] = {}  # clusters the library names alike are one person (its times joined, best crop)
    unnamed = 0
    for c in clusters:
        centroid = c["sum"] / c["n"]
        name = None
        if library:
            dists = [float(np.linalg.norm(centroid - e)) for _, e in library]
            i = int(np.argmin(dists))
            if dists[i] < LIBRARY_MATCH:
                name = library[i][0]
        if name is None:
            unnamed += 1
            name = f"person {unnamed}"
        if name in named:
            first = named[name]
            first["times"] = first["times"] + c["times"]
            if c["q"] > first["q"]:
                first["crop"], first["q"] = c["crop"], c["q"]
        else:
            named[name] = dict(c)
    persons = []
    for name, c in named.items():
        out = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(c["crop"])).save(out, format="JPEG", quality=90)
        persons.append(Person(name, sorted(set(c["times"])), out.getvalue()))
    return persons


def tag_video(
    path: Path,
    info: VideoInfo,
    frames: Sequence[Frame],
    settings: Settings,
    types: set[str],
    face_library: Callable[[], Sequence[tuple[str, np.ndarray]]] = lambda: (),
) -> VideoTagsResult:
    from medialens.analyses.video_classify import classify_video

    if not frames:
        raise ValueError("no frames to tag")
    methods = []
    categories: list[str] = []
    visual: list[str] = []
    if "category" in types or "keyword" in types:
        classified = classify_video(
            frames, info, "", settings, classification_top_k=1, tag_top_k=5, want_embedding=False
        )
        categories = [c.name for c in classified.classes] if "category" in types else []
        visual = [t.name for t in classified.tags]
        methods.append(f"category:{classified.method}")
    hits: dict[str, list[float]] = defaultdict(list)
    counts: Counter = Counter()
    texts: list[tuple[float, str]] = []  # what was said and shown, for places and times
    if "asr" in types or "keyword" in types:
        h, c = speech_keywords(path, info, settings, texts)
        for w, t in h.items():
            hits[w] += t
        counts += c
        methods.append("asr:whisper-base")
    if "ocr" in types or "keyword" in types:
        h, c = text_keywords(frames, settings, texts)
        for w, t in h.items():
            hits[w] += t
        counts += c
        methods.append(f"ocr:{OCR_MODEL}")
    keywords = _keywords(hits, counts)
    if not keywords and "keyword" in types:
        keywords = [Tagged(t) for t in visual]
    persons = cluster_faces(frames, settings, face_library()) if "face" in types else []
    if "face" in types:
        methods.append("face:dlib-clusters")
    locations, times = places_times.tags_in(texts)
    if "category" in types:  # scenes, and day or night, where the Places365 hub model is installed
        step = max(1, len(frames) // SCENE_MAX_FRAMES)
        scenes, day_night = places_times.scene_tags([(f.t, f.rgb) for f in frames[::step]], settings)
        locations, times = locations + scenes, times + day_night
        if scenes:
            methods.append(f"scene:{places_times.PLACES_MODEL}")
    methods.append("location,time:geonames+time-expressions")
    return VideoTagsResult(categories, keywords, persons, ",".join(methods), locations, times)
