"""Task results in the Model Hub seed's shapes: its field names (and its own spellings), box order
[top, left, bottom, right], keypoints (y, x), and ``request_id`` / ``success`` on every answer."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

import numpy as np

from medialens.protocols.http import b64decode

Formatter = Callable[[Any, dict[str, Any]], dict[str, Any]]


def _tlbr(box: tuple[float, float, float, float]) -> list[float]:
    """(x_min, y_min, x_max, y_max) -> [top, left, bottom, right]."""
    x1, y1, x2, y2 = box
    return [float(y1), float(x1), float(y2), float(x2)]


def _detections(r: Any) -> dict[str, Any]:
    names = [o.name for o in r.objects]
    return {
        "detection_boxes": [_tlbr(o.box) for o in r.objects],
        "detection_scores": [o.score for o in r.objects],
        "detection_classes": [o.class_id for o in r.objects],
        "detection_class_names": names,
        # The seed's output examples spell it this way; clients written against them read this key.
        "detection_classe_names": names,
    }


def image_classification(r: Any, _req: dict[str, Any]) -> dict[str, Any]:
    return {"class": r.class_id, "class_name": r.class_name, "class_probs": probs_json(r.probs)}


def object_detection(r: Any, _req: dict[str, Any]) -> dict[str, Any]:
    return _detections(r)


def inventory_counting(r: Any, _req: dict[str, Any]) -> dict[str, Any]:
    return {"ori_img_shape": [r.height, r.width], **_detections(r), "product_count": dict(r.counts)}


def ocr(r: Any, _req: dict[str, Any]) -> dict[str, Any]:
    boxes, keypoints = [], []
    for line in r.lines:
        xs = [x for x, _ in line.corners]
        ys = [y for _, y in line.corners]
        boxes.append([min(ys), min(xs), max(ys), max(xs)])
        keypoints.append([[float(y), float(x)] for x, y in line.corners])
    texts = [line.text for line in r.lines]
    scores = [line.score for line in r.lines]
    return {
        "detection_keypoints": keypoints,
        "detection_boxes": boxes,
        "detection_scores": scores,
        "detection_classes": [1] * len(texts),
        "detection_class_names": ["text"] * len(texts),
        "detection_classe_names": ["text"] * len(texts),
        "detection_texts_ids": [line.char_ids for line in r.lines],
        "detection_texts": texts,
        "detection_texts_scores": scores,
    }


class RawJSON(bytes):
    """A value that is JSON text already, as UTF-8 (a large mask, written by NumPy instead of element by element)."""


def mask_json(bits_b64: str, height: int, width: int) -> RawJSON:
    """The packed mask as the seed's [h][w] list of 0/1, as JSON text (one buffer: a 1000 x 700 mask is 1.4 MB)."""
    if height * width == 0:
        return RawJSON(b"[]")
    bits = np.unpackbits(np.frombuffer(b64decode(bits_b64), np.uint8), count=height * width)
    # "[" then per row "[b,b,...,b]," (2 * width + 2 bytes), the last row's comma turned into the closing "]"
    buf = np.full(1 + height * (2 * width + 2), ord(","), np.uint8)
    buf[0] = ord("[")
    rows = buf[1:].reshape(height, 2 * width + 2)
    rows[:, 0] = ord("[")
    rows[:, 1 : 2 * width : 2] = bits.reshape(height, width) + ord("0")
    rows[:, 2 * width] = ord("]")
    buf[-1] = ord("]")
    return RawJSON(buf)  # one copy of the buffer (tobytes() and then RawJSON would make two)


def probs_json(probs: dict[str, float]) -> RawJSON:
    """A {name: probability} map as JSON text in one C-level format call (ImageNet's is 1000 entries, which
    ``json.dumps`` wrote float by float at 17 digits); 7 significant digits, a float32's precision."""
    return RawJSON((_probs_format(tuple(probs)) % tuple(probs.values())).encode())


@functools.lru_cache(maxsize=16)
def _probs_format(names: tuple[str, ...]) -> str:
    keys = (json.dumps(n, ensure_ascii=False).replace("%", "%%") for n in names)
    return "{" + ",".join(f"{k}:%.7g" for k in keys) + "}"


def render(body: dict[str, Any]) -> bytes:
    """``body`` as compact JSON, with RawJSON values inserted as they are (joined once, not copied per value)."""
    raw = {k: v for k, v in body.items() if isinstance(v, RawJSON)}
    text = json.dumps(
        {k: (f"\x00{k}" if k in raw else v) for k, v in body.items()}, ensure_ascii=False, separators=(",", ":")
    ).encode()
    parts: list[bytes] = []
    for key, value in raw.items():
        before, text = text.split(json.dumps(f"\x00{key}").encode(), 1)
        parts += [before, value]
    return b"".join([*parts, text])


def foreground_segmentation(r: Any, _req: dict[str, Any]) -> dict[str, Any]:
    # the seed types human_ratio as a STRING
    return {"human_ratio": f"{r.ratio:.6f}", "mask": mask_json(r.mask_bits, r.height, r.width)}


def scene_classification(r: Any, _req: dict[str, Any]) -> dict[str, Any]:
    return {"class": [i for i, _ in r.top], "class_name": [n for _, n in r.top], "class_probs": probs_json(r.probs)}


def image_similarity(r: Any, _req: dict[str, Any]) -> dict[str, Any]:
    return {"similarity": r.similarity, "l2_distance": r.l2_distance}


def product_comparison(r: Any, req: dict[str, Any]) -> dict[str, Any]:
    if req.get("metric") == "Cosine":
        return {"cosine_similarity": r.cosine}
    return {"l2_distance": r.l2_distance}


def face_similarity(r: Any, _req: dict[str, Any]) -> dict[str, Any]:
    return {"similarity": r.similarity}


def face_attributes(r: Any, _req: dict[str, Any]) -> dict[str, Any]:
    return {
        "face_age": [f.age for f in r.faces],
        "face_gender": [f.gender for f in r.faces],
        "face_emo": [f.emotion for f in r.faces],
        "face_bbox": [[*map(float, f.box), f.score] for f in r.faces],
    }


def _csv(values: Any) -> str:
    """Comma-separated, 8 significant digits; one C-level format call per vector (hidden states are thousands)."""
    values = values.tolist() if isinstance(values, np.ndarray) else list(values)
    return _csv_format(len(values)) % tuple(values)


@functools.lru_cache(maxsize=64)
def _csv_format(n: int) -> str:
    return ",".join(["%.8g"] * n)


def text_vectorization(r: Any, req: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": req.get("id", ""),
        "pool_output": _csv(r.pool),
        "first_token_output": _csv(r.first_token) if r.first_token is not None else "",
        "all_hidden_outputs": ";".join(_csv(h) for h in r.hidden) if r.hidden is not None else "",
    }


def semantic_segmentation(r: Any, _req: dict[str, Any]) -> dict[str, Any]:
    return {"probs": r.probs, "preds": r.classes}


def instance_segmentation(r: Any, _req: dict[str, Any]) -> dict[str, Any]:
    masks = [{"counts": m.counts, "size": list(m.size)} for m in r.masks]
    return {**_detections(r), "detection_masks": masks}


def edited_image(r: Any, _req: dict[str, Any]) -> dict[str, Any]:
    return {"out_image": r.image}


def video_clip(_r: Any, req: dict[str, Any]) -> dict[str, Any]:
    """The seed's clip answer: where the clip is (a fetchable link: ``files.file_links``) and an empty result."""
    return {"oss_path": req["oss_path"], "result": ""}


def upscaled_clip(r: Any, req: dict[str, Any]) -> dict[str, Any]:
    """The seed's super-resolution answer; ``result`` names how the frames were up-scaled (a model or the
    classical method), so a user can tell the two tiers apart."""
    return {"oss_path": req["oss_path"], "result": r.method}


def video_classification(r: Any, _req: dict[str, Any]) -> dict[str, Any]:
    return {"class": r.class_name}


def _microsecond_key(seconds: float) -> str:
    return str(round(seconds * 1_000_000))


def timed_transcript(r: Any, _req: dict[str, Any]) -> dict[str, Any]:
    """The seed's ASR answer: {segment start in microseconds: its sentences joined by ';'}."""
    return {_microsecond_key(s.start): s.text for s in r.segments}


def _yes_no(present: bool) -> str:
    return json.dumps({"class": "是" if present else "否"}, ensure_ascii=False, separators=(",", ":")) + "\n"


def window_calls(r: Any, _req: dict[str, Any]) -> dict[str, Any]:
    """The seed's detection answer: {window start in microseconds: '{"class":"是"}\\n' or 否}."""
    return {_microsecond_key(w.start): _yes_no(w.present) for w in r.windows}


def speaker_classes(r: Any, _req: dict[str, Any]) -> dict[str, Any]:
    """The seed's speaker answer: {speech segment start in microseconds: '{"class":"男"}\\n' or 女}."""
    return {
        _microsecond_key(s.start): json.dumps({"class": s.label}, ensure_ascii=False, separators=(",", ":")) + "\n"
        for s in r.segments
    }


def window_vectors(r: Any, _req: dict[str, Any]) -> dict[str, Any]:
    """The seed's vector string ("v1,v2,...,vN") for each window, keyed by its start in microseconds."""
    return {_microsecond_key(w.start): _csv(w.vector) for w in r.windows}


BARE = frozenset(
    {
        "asr_zh",
        "asr_zh_ecommerce",
        "speech_detection_zh",
        "bgm_detection",
        "speech_vector_zh",
        "speech_vector_en",
        "speaker_classification_zh",
    }
)
"""Answers that are the seed's map of times alone: no request_id / success beside the microsecond keys."""

FORMATTERS: dict[str, Formatter] = {
    "video_highlight": video_clip,
    "video_super_resolution": upscaled_clip,
    "video_classification": video_classification,
    "image_colorization": edited_image,
    "face_enhancement": edited_image,
    "semantic_segmentation": semantic_segmentation,
    "instance_segmentation": instance_segmentation,
    "image_classification": image_classification,
    "object_detection": object_detection,
    "inventory_counting": inventory_counting,
    "ocr": ocr,
    "foreground_segmentation": foreground_segmentation,
    "scene_classification": scene_classification,
    "image_similarity": image_similarity,
    "product_comparison": product_comparison,
    "face_similarity": face_similarity,
    "face_attributes": face_attributes,
    "text_vectorization": text_vectorization,
    "asr_zh": timed_transcript,
    "asr_zh_ecommerce": timed_transcript,
    "speech_detection_zh": window_calls,
    "bgm_detection": window_calls,
    "speech_vector_zh": window_vectors,
    "speech_vector_en": window_vectors,
    "speaker_classification_zh": speaker_classes,
}


def answer(model: str, result: Any, req: dict[str, Any], request_id: str) -> dict[str, Any]:
    if model in BARE:
        return FORMATTERS[model](result, req)
    return {"request_id": request_id, "success": True, **FORMATTERS[model](result, req)}
