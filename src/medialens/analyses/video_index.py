"""Video indexing: segment a video into shots and clips and keep, per segment, the evidence classify reads.

From the shared frame sampling (``tasks.intake.sampled_frames``, default 2 fps):

* **Shots**: a cut between consecutive samples where the colour histograms differ (Bhattacharyya distance of
  16x4x4 HSV histograms over ``SHOT_THRESHOLD``). **Clips**: shots longer than ``CLIP_MAX_S`` split in equal
  parts. Each segment runs ``[t of its first sample, t of the next segment's first sample)``.
* **Visual evidence** per segment, each frame through the models once: MobileNetV2 ImageNet probabilities and
  NanoDet COCO objects (one sample a second) pooled (``evidence.EvidencePool``), MediaPipe full-range faces,
  MediaPipe pose landmarks.
  Pose and faces become **descriptors** (short English phrases chosen by measured rules, below), so they live
  in the same e5 text space as the ImageNet classes and COCO objects. The segment's **visual embedding** is the
  ConSE vector (``evidence.conse_vector``) plus ``DESCRIPTOR_WEIGHT`` times the mean of the descriptors' centred
  e5 embeddings, re-normalised (384-d). With the hub CLIP model installed, the mean CLIP image embedding is kept
  too.
* **Descriptor rules** (pose: shoulder width ``sw`` is the unit; wrists are MediaPipe pose landmarks 15/16):
  wrist speed over ``HAND_FAST`` sw/s with the hips still → ``"hands moving quickly in gestures"``; wrists between
  the shoulders and hips and within one sw of the body's centre line → ``"hands held in front of the chest"``;
  a wrist within ``NEAR_FACE`` sw of the nose → ``"a hand touching the face"``; hips moving over ``BODY_FAST``
  sw/s → ``"a person walking or running"``; a face over ``FACE_CLOSEUP`` of the frame → ``"a close-up of a
  person's face"``; two detected persons whose boxes overlap (IoU over ``EMBRACE_IOU``) → ``"two people very
  close together, embracing"``; three or more persons → ``"a group of people"``. Each descriptor is kept with the
  fraction of the segment's frames it held in, and only when it held in ``DESCRIPTOR_MIN`` of them.
* **Conversation**: Whisper (faster-whisper base, VAD on) over the audio track, segment timestamps, each
  segment's text embedded with e5. **Text in video**: PP-OCRv4 on one sample per second, lines with a
  recognition score of at least ``OCR_MIN_SCORE``; consecutive samples with the same text merge into one range.
"""

from __future__ import annotations

import functools
import itertools
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from medialens.analyses import evidence
from medialens.config import Settings
from medialens.media.types import Frame, VideoInfo
from medialens.models.loader import get_pipeline
from medialens.models.pipelines.faces import FaceRequest
from medialens.models.pipelines.imagenet import imagenet_text_names
from medialens.models.pipelines.ocr_v5 import OCR_MODEL

log = logging.getLogger(__name__)

SHOT_THRESHOLD = 0.45
CLIP_MAX_S = 4.0
DESCRIPTOR_WEIGHT = 0.6
DESCRIPTOR_MIN = 0.3
HAND_FAST = 0.8
BODY_FAST = 0.5
NEAR_FACE = 0.6
FACE_CLOSEUP = 0.04
EMBRACE_IOU = 0.25
FINGER_OUT = 1.15
OPEN_HAND = 3
FINGERS_FAST = 0.4
WRIST_VISIBLE = 0.3
HAND_MATCH = 3.0
OCR_MIN_SCORE = 0.8
OCR_EVERY_S = 1.0
DETECT_EVERY_S = 1.0
EMBED_ROUND = 5

DESCRIPTORS = (
    "hands moving quickly in gestures",
    "hands held in front of the chest",
    "a hand touching the face",
    "a person walking or running",
    "a close-up of a person's face",
    "two people very close together, embracing",
    "a group of people",
    "both hands raised in front of the body",
    "an open hand with the fingers spread",
    "fingers moving and changing hand shapes",
)
HAND_DESCRIPTORS = frozenset(DESCRIPTORS[-3:])
"""The descriptors read from MediaPipe Hands (the rest come from pose, faces and person boxes)."""

POSE_MODEL = "mediapipe-pose"
FACE_MODEL = "dlib-face"  # its default detector: MediaPipe full range + face-mesh presence check
HANDS_MODEL = "mediapipe-hands"
WHISPER_MODEL = "whisper-base"
VISUAL_MODELS = (evidence.IMAGENET_MODEL, evidence.DETECTOR_MODEL, evidence.TEXT_MODEL)


@dataclass
class Segment:
    start: float
    end: float
    embedding: list[float]
    plain_embedding: list[float] | None = None
    clip_embedding: list[float] | None = None
    classes: list[tuple[str, float]] = field(default_factory=list)
    objects: dict[str, float] = field(default_factory=dict)
    faces: int = 0
    descriptors: dict[str, float] = field(default_factory=dict)
    shot: int = 0


@dataclass
class TimedText:
    start: float
    end: float
    text: str
    embedding: list[float]


@dataclass
class VideoEvidence:
    duration: float
    segments: list[Segment]
    transcript: list[TimedText]
    text_in_video: list[TimedText]
    method: str
    timings: dict[str, float] = field(default_factory=dict)
    language: str = ""


# --- shots -------------------------------------------------------------------------------------------------------
def _hist(rgb: np.ndarray) -> np.ndarray:
    import cv2

    hsv = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2HSV)
    h = cv2.calcHist([hsv], [0, 1, 2], None, [16, 4, 4], [0, 180, 0, 256, 0, 256]).ravel()
    return h / max(h.sum(), 1e-9)


def shot_starts(frames: Sequence[Frame], threshold: float = SHOT_THRESHOLD) -> list[int]:
    """Indices of the samples that start a shot (always 0)."""
    starts = [0]
    prev = None
    for i, f in enumerate(frames):
        h = _hist(f.rgb)
        if prev is not None:
            bc = float(np.sum(np.sqrt(h * prev)))
            if np.sqrt(max(0.0, 1.0 - bc)) > threshold:
                starts.append(i)
        prev = h
    return starts


def segment_bounds(frames: Sequence[Frame], duration: float) -> list[tuple[int, int, int]]:
    """(first sample, end sample exclusive, shot number) per clip: shots split into parts of at most CLIP_MAX_S."""
    if not frames:
        return []
    starts = [*shot_starts(frames), len(frames)]
    out = []
    for shot, (a, b) in enumerate(itertools.pairwise(starts)):
        t0 = frames[a].t
        t1 = frames[b].t if b < len(frames) else max(duration, frames[-1].t)
        parts = max(1, int(np.ceil((t1 - t0) / CLIP_MAX_S - 1e-6)))
        n = b - a
        parts = min(parts, n)
        edges = [a + round(k * n / parts) for k in range(parts + 1)]
        out += [(edges[k], edges[k + 1], shot) for k in range(parts) if edges[k + 1] > edges[k]]
    return out


# --- descriptors ---------------------------------------------------------------------------------------------------
def _iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    x1, y1, x2, y2 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@dataclass
class FrameObs:
    """What the per-frame models saw in one sample (kept only while the segment is built)."""

    t: float
    pose: np.ndarray | None = None  # 33 x 2 pixels
    face_area: float = 0.0
    faces: int = 0
    persons: list[tuple[float, float, float, float]] = field(default_factory=list)
    hands: list[np.ndarray] = field(default_factory=list)  # 21 x 2 pixels each (MediaPipe Hands)


_FINGERS = ((6, 8), (10, 12), (14, 16), (18, 20))  # (pip, tip) of index, middle, ring, pinky


def hand_shape(points: np.ndarray) -> np.ndarray | None:
    """A hand's 21 landmarks in its own frame: wrist at the origin, wrist → middle knuckle pointing up, the palm
    length (that distance) as unit. Removes where the hand is, its size and its rotation, keeps the finger
    posture; None for a degenerate hand."""
    rel = points[:, :2].astype(np.float64) - points[0, :2]
    axis = rel[9]
    palm = float(np.linalg.norm(axis))
    if palm < 2.0:
        return None
    c, s = axis[1] / palm, axis[0] / palm  # rotate so that axis → (0, palm) ... then scale
    rot = np.array([[c, -s], [s, c]])
    return rel @ rot.T / palm


def extended_fingers(shape: np.ndarray) -> int:
    """Fingers (of index..pinky) whose tip is farther from the wrist than their middle joint by ``FINGER_OUT``."""
    dist = np.linalg.norm(shape, axis=1)
    return sum(bool(dist[tip] > FINGER_OUT * dist[pip]) for pip, tip in _FINGERS)


def articulation_speed(prev: Sequence[np.ndarray], cur: Sequence[np.ndarray], dt: float) -> float:
    """How fast the finger posture changes (palm lengths per second, mean over the 20 non-wrist landmarks) for the
    hand of ``cur`` and ``prev`` that are nearest each other (hands matched by wrist position); 0 when a sample
    has no hand."""
    best = 0.0
    for c in cur:
        sc = hand_shape(c)
        if sc is None or not prev:
            continue
        p = min(prev, key=lambda q: float(np.linalg.norm(q[0] - c[0])))
        sp = hand_shape(p)
        if sp is None:
            continue
        palm = float(np.linalg.norm(c[9] - c[0]))
        if np.linalg.norm(p[0] - c[0]) > HAND_MATCH * palm:
            continue
        best = max(best, float(np.linalg.norm(sc[1:] - sp[1:], axis=1).mean()) / dt)
    return best


def descriptors_of(obs: Sequence[FrameObs]) -> dict[str, float]:
    """Fraction of the segment's samples in which each descriptor held (only those at DESCRIPTOR_MIN or more)."""
    if not obs:
        return {}
    held = dict.fromkeys(DESCRIPTORS, 0)
    n = len(obs)
    for i, o in enumerate(obs):
        if o.face_area >= FACE_CLOSEUP:
            held["a close-up of a person's face"] += 1
        people = o.persons
        if len(people) >= 3:
            held["a group of people"] += 1
        if len(people) >= 2 and max(_iou(a, b) for j, a in enumerate(people) for b in people[j + 1 :]) >= EMBRACE_IOU:
            held["two people very close together, embracing"] += 1
        if len(o.hands) >= 2:
            held["both hands raised in front of the body"] += 1
        shapes = [sh for sh in map(hand_shape, o.hands) if sh is not None]
        if any(extended_fingers(sh) >= OPEN_HAND for sh in shapes):
            held["an open hand with the fingers spread"] += 1
        if (
            i > 0
            and o.t > obs[i - 1].t
            and articulation_speed(obs[i - 1].hands, o.hands, o.t - obs[i - 1].t) > FINGERS_FAST
        ):
            held["fingers moving and changing hand shapes"] += 1
        if o.pose is None:
            continue
        p = o.pose
        sw = float(np.linalg.norm(p[11] - p[12]))
        if sw < 4:
            continue
        nose, lsh, rsh, lhip, rhip = p[0], p[11], p[12], p[23], p[24]
        centre_x = (lsh[0] + rsh[0]) / 2
        sh_y, hip_y = (lsh[1] + rsh[1]) / 2, (lhip[1] + rhip[1]) / 2
        wrists = (p[15], p[16])
        if any(np.linalg.norm(w - nose) < NEAR_FACE * sw for w in wrists):
            held["a hand touching the face"] += 1
        if any(sh_y <= w[1] <= hip_y and abs(w[0] - centre_x) < sw for w in wrists):
            held["hands held in front of the chest"] += 1
        prev = obs[i - 1] if i > 0 else None
        if prev is not None and prev.pose is not None and o.t > prev.t:
            dt = o.t - prev.t
            q = prev.pose
            hand_v = max(np.linalg.norm(p[k] - q[k]) for k in (15, 16)) / sw / dt
            hips_v = np.linalg.norm((p[23] + p[24] - q[23] - q[24]) / 2) / sw / dt
            if hips_v > BODY_FAST:
                held["a person walking or running"] += 1
            elif hand_v > HAND_FAST:
                held["hands moving quickly in gestures"] += 1
    return {k: round(v / n, 3) for k, v in held.items() if v / n >= DESCRIPTOR_MIN}


@functools.cache
def _descriptor_rows(model_key: str) -> dict[str, np.ndarray]:
    return {}


def descriptor_matrix(settings: Settings) -> dict[str, np.ndarray]:
    """Centred, unit e5 embeddings of the descriptors (centred like the ConSE bases: minus the ImageNet mean)."""
    rows = _descriptor_rows(evidence.TEXT_MODEL)
    if not rows:
        inet = evidence.label_matrix("imagenet", settings)
        mean = inet.mean(axis=0)
        emb = evidence.embed_texts(list(DESCRIPTORS), settings) - mean
        emb /= np.linalg.norm(emb, axis=1, keepdims=True)
        rows.update(zip(DESCRIPTORS, emb, strict=True))
    return rows


def visual_embedding(
    probs: np.ndarray, objects: dict[str, float], descriptors: dict[str, float], settings: Settings
) -> np.ndarray:
    v = evidence.conse_vector(probs, objects, settings).astype(np.float64)
    if descriptors:
        rows = descriptor_matrix(settings)
        d = sum(w * rows[name] for name, w in descriptors.items()) / sum(descriptors.values())
        v = v + DESCRIPTOR_WEIGHT * d
    return (v / max(np.linalg.norm(v), 1e-12)).astype(np.float32)


def reembed(segment: dict, keep: Callable[[str], bool], settings: Settings) -> list[float]:
    """A stored segment's visual embedding rebuilt with only the descriptors ``keep`` accepts (for measuring what
    each kind of descriptor adds): its ConSE part is ``plain_embedding`` (stored when it had descriptors)."""
    desc = {k: v for k, v in (segment.get("descriptors") or {}).items() if keep(k)}
    plain = segment.get("plain_embedding")
    if plain is None:  # no descriptors: the embedding is the ConSE vector
        return list(segment["embedding"])
    v = np.asarray(plain, np.float64)
    if desc:
        rows = descriptor_matrix(settings)
        v = v + DESCRIPTOR_WEIGHT * sum(w * rows[name] for name, w in desc.items()) / sum(desc.values())
    return _rounded(v / max(np.linalg.norm(v), 1e-12))


# --- the whole video -----------------------------------------------------------------------------------------------
def _observe(frames: Sequence[Frame], settings: Settings, pose: bool, faces: bool, hands: bool) -> list[FrameObs]:
    """Pose and faces on every sample; hands only on samples where the pose model found a person with a wrist in
    view (visibility at least ``WRIST_VISIBLE``)."""
    out = []
    pose_pipe = get_pipeline(POSE_MODEL, settings) if pose else None
    face_pipe = get_pipeline(FACE_MODEL, settings) if faces else None
    hand_pipe = get_pipeline(HANDS_MODEL, settings) if hands and pose else None
    for f in frames:
        o = FrameObs(t=f.t)
        h, w = f.rgb.shape[:2]
        if pose_pipe is not None:
            p = pose_pipe(f.rgb)
            if p is not None and p.score >= 0.5:
                o.pose = np.asarray(p.landmarks[:, :2], np.float32)
                if hand_pipe is not None and float(p.landmarks[[15, 16], 3].max()) >= WRIST_VISIBLE:
                    o.hands = [np.asarray(hd.points[:, :2], np.float32) for hd in hand_pipe(f.rgb)]
        if face_pipe is not None:
            found = face_pipe(FaceRequest(f.rgb, embed=False))
            o.faces = len(found)
            o.face_area = max(((b[2] - b[0]) * (b[3] - b[1]) / (w * h) for b in (x.bbox for x in found)), default=0.0)
        out.append(o)
    return out


def _rounded(v: np.ndarray) -> list[float]:
    return [round(float(x), EMBED_ROUND) for x in v]


def transcribe(path: Path, settings: Settings, language: str | None) -> tuple[list[TimedText], str]:
    from medialens.media.audio import read_audio
    from medialens.models.pipelines.whisper import TranscriptionRequest

    audio = read_audio(path, max_seconds=settings.video_max_duration_s)
    if audio.size == 0 or float(np.abs(audio).max()) < 1e-3:  # digital silence
        return [], ""
    result = get_pipeline(WHISPER_MODEL, settings)(
        TranscriptionRequest(audio=audio, language=language or None, beam_size=1)
    )
    segs = [s for s in result.segments if s.text.strip() and s.no_speech_prob < 0.8]
    if not segs:
        return [], result.language
    emb = evidence.embed_texts([s.text.strip() for s in segs], settings)
    return [
        TimedText(round(s.start, 3), round(s.end, 3), s.text.strip(), _rounded(e))
        for s, e in zip(segs, emb, strict=True)
    ], result.language


def read_text(frames: Sequence[Frame], duration: float, settings: Settings) -> list[TimedText]:
    ocr = get_pipeline(OCR_MODEL, settings)
    runs: list[list] = []  # [start, end, text]
    next_t = -1.0
    for f in frames:
        if f.t < next_t:
            continue
        next_t = f.t + OCR_EVERY_S
        lines = [ln.text.strip() for ln in ocr(f.rgb).lines if ln.score >= OCR_MIN_SCORE and ln.text.strip()]
        text = " ".join(lines)
        if runs and runs[-1][2] == text:
            runs[-1][1] = f.t + OCR_EVERY_S
        elif text:
            runs.append([f.t, f.t + OCR_EVERY_S, text])
        elif runs and runs[-1][1] > f.t:
            runs[-1][1] = f.t
    runs = [r for r in runs if r[2]]
    if not runs:
        return []
    emb = evidence.embed_texts([r[2] for r in runs], settings)
    return [
        TimedText(round(a, 3), round(min(b, duration), 3), t, _rounded(e))
        for (a, b, t), e in zip(runs, emb, strict=True)
    ]


def index_video(
    frames: Sequence[Frame],
    info: VideoInfo,
    path: Path,
    settings: Settings,
    *,
    visual: bool = True,
    conversation: bool = True,
    text_in_video: bool = True,
    language: str | None = None,
    progress: Callable[[float], None] = lambda _p: None,
) -> VideoEvidence:
    """The evidence of one video (``frames`` sampled once; ``path`` for the audio track)."""
    timings: dict[str, float] = {}
    duration = float(info.duration_s or (frames[-1].t if frames else 0.0))
    from medialens.models import installed

    has = functools.partial(installed.installed, settings=settings)
    pose_on, faces_on = visual and has(POSE_MODEL), visual and has(FACE_MODEL)
    hands_on = pose_on and has(HANDS_MODEL)
    steps = 1 + int(conversation) + int(text_in_video)
    done = 0
    segments: list[Segment] = []
    t0 = time.perf_counter()
    bounds = segment_bounds(frames, duration)
    for k, (a, b, shot) in enumerate(bounds):
        chunk = frames[a:b]
        start = chunk[0].t if a > 0 else 0.0
        end = frames[b].t if b < len(frames) else max(duration, chunk[-1].t)
        ev, persons = _visual(chunk, settings)
        obs = _observe(chunk, settings, pose_on, faces_on, hands_on)
        for o, ps in zip(obs, persons, strict=True):
            o.persons = ps
        desc = descriptors_of(obs)
        emb = visual_embedding(ev.probs, ev.objects, desc, settings)
        top = np.argsort(-ev.probs)[:5]
        names = imagenet_text_names()
        segments.append(
            Segment(
                start=round(start, 3),
                end=round(end, 3),
                embedding=_rounded(emb),
                plain_embedding=_rounded(visual_embedding(ev.probs, ev.objects, {}, settings)) if desc else None,
                clip_embedding=_rounded(ev.clip.reshape(-1)) if ev.clip is not None else None,
                classes=[(names[i], round(float(ev.probs[i]), 4)) for i in top],
                objects={k2: round(v, 3) for k2, v in ev.objects.items() if v >= evidence.MIN_OBJECT_SCORE},
                faces=max((o.faces for o in obs), default=0),
                descriptors=desc,
                shot=shot,
            )
        )
        progress((done + (k + 1) / max(1, len(bounds))) / steps)
    timings["visual_s"] = round(time.perf_counter() - t0, 3)
    done += 1
    transcript: list[TimedText] = []
    lang = ""
    if conversation and info.has_audio and has(WHISPER_MODEL):
        t0 = time.perf_counter()
        try:
            transcript, lang = transcribe(path, settings, language)
        except Exception as err:  # a broken audio track leaves the video indexed without speech
            log.warning("no transcript: %s", err)
        timings["conversation_s"] = round(time.perf_counter() - t0, 3)
    if conversation:
        done += 1
        progress(done / steps)
    ocr_text: list[TimedText] = []
    if text_in_video and has(OCR_MODEL):
        t0 = time.perf_counter()
        ocr_text = read_text(frames, duration, settings)
        timings["text_in_video_s"] = round(time.perf_counter() - t0, 3)
    progress(1.0)
    method = evidence.METHOD_CLIP if segments and segments[0].clip_embedding else evidence.METHOD_CONSE
    return VideoEvidence(duration, segments, transcript, ocr_text, method + "+pose+faces", timings, lang)


def _visual(
    frames: Sequence[Frame], settings: Settings
) -> tuple[evidence.VisualEvidence, list[list[tuple[float, float, float, float]]]]:
    """Pooled ImageNet/COCO evidence of a segment and its person boxes per frame: every frame through MobileNetV2,
    every ``DETECT_EVERY_S`` seconds through NanoDet (the costliest model; its objects pooled as
    ``evidence.EvidencePool`` pools them, its person boxes held for the frames in between)."""
    from medialens.models.pipelines.detection import COCO80

    pool = evidence.EvidencePool(settings, detect=False)
    pool.add([f.rgb for f in frames])
    ev = pool.evidence()
    picked, next_t = [], -1.0
    for i, f in enumerate(frames):
        if f.t >= next_t - 1e-6:
            picked.append(i)
            next_t = f.t + DETECT_EVERY_S
    best_sum = np.zeros(len(COCO80))
    boxes: dict[int, list[tuple[float, float, float, float]]] = {}
    detections = get_pipeline(evidence.DETECTOR_MODEL, settings).run_batch([frames[i].rgb for i in picked])
    for i, dets in zip(picked, detections, strict=True):
        best = np.zeros(len(COCO80))
        for d in dets:
            best[d.class_id] = max(best[d.class_id], d.score)
        best_sum += best
        boxes[i] = [tuple(map(float, d.box)) for d in dets if d.label == "person" and d.score >= 0.4]
    persons, held = [], []
    for i in range(len(frames)):
        held = boxes.get(i, held)
        persons.append(held)
    n = max(1, len(picked))
    ev.objects = {COCO80[i]: float(s) for i, s in enumerate(best_sum / n) if s > 0}
    return ev, persons
