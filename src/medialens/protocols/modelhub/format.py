"""Task results in the Model Hub seed's shapes: its field names (and its own spellings), box order
[top, left, bottom, right], keypoints (y, x), and ``request_id`` / ``success`` on every answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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
    return {"class": r.class_id, "class_name": r.class_name, "class_probs": r.probs}


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


def foreground_segmentation(r: Any, _req: dict[str, Any]) -> dict[str, Any]:
    return {"human_ratio": f"{r.ratio:.6f}", "mask": r.mask}  # the seed types human_ratio as a STRING


def scene_classification(r: Any, _req: dict[str, Any]) -> dict[str, Any]:
    return {"class": [i for i, _ in r.top], "class_name": [n for _, n in r.top], "class_probs": r.probs}


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
    return ",".join(f"{v:.8g}" for v in values)


def text_vectorization(r: Any, req: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": req.get("id", ""),
        "pool_output": _csv(r.pool),
        "first_token_output": _csv(r.first_token) if r.first_token is not None else "",
        "all_hidden_outputs": ";".join(_csv(h) for h in r.hidden) if r.hidden is not None else "",
    }


FORMATTERS: dict[str, Formatter] = {
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
}


def answer(model: str, result: Any, req: dict[str, Any], request_id: str) -> dict[str, Any]:
    return {"request_id": request_id, "success": True, **FORMATTERS[model](result, req)}
