"""Shape stored jobs and analysis results the way PAI clients read them."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from medialens.store.tables import Job, as_utc


def pai_time(value: datetime) -> str:
    """ISO-8601 with milliseconds and UTC offset, as the seed shows: 2022-10-12T10:51:30.015+00:00."""
    return as_utc(value).isoformat(timespec="milliseconds")


def _image_quality(result: dict[str, Any]) -> dict[str, Any]:
    return {"image_height": result["height"], "image_width": result["width"], "iqa_result": result["score"]}


def _as_is(result: dict[str, Any]) -> dict[str, Any]:
    return result


def _video_quality(result: dict[str, Any]) -> dict[str, Any]:
    return {
        "video_score": result["score"],
        "avg_fps": result["fps"],
        "duration": result["duration_s"],
        "single_img": result["static_similarity"],
        "height": result["height"],
        "width": result["width"],
    }


def embedding_string(values: list[float]) -> str:
    """PAI prints embeddings as one comma-separated string; 6 decimals keep unit vectors' cosines intact."""
    return ",".join(repr(round(v, 6)) for v in values)


def _labels(items: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    return [{"score": round(i["score"], 3), key: i["name"]} for i in items]


def _image_tags(result: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {"image_height": result["height"], "image_width": result["width"]}
    data["tag_result"] = _labels(result["tags"], "tag")
    if result.get("embedding") is not None:
        data["embedding_result"] = embedding_string(result["embedding"])
    return data


def _classification(result: dict[str, Any]) -> dict[str, Any]:
    """ClassifyLabelVideo / MultiModalClassify ``Result``: parts switched off by configure are left out."""
    data: dict[str, Any] = {}
    if result.get("classes") is not None:
        data["classification_result"] = [{"class": c["name"], "score": round(c["score"], 3)} for c in result["classes"]]
    if result.get("tags") is not None:
        data["tag_result"] = _labels(result["tags"], "tag")
    if result.get("embedding") is not None:
        data["embedding_result"] = embedding_string(result["embedding"])
    # The seed: video sizes and duration are "" when the post has no video.
    data["duration"] = result["duration"] if result.get("duration") is not None else ""
    data["video_height"] = result["height"] if result.get("height") is not None else ""
    data["video_width"] = result["width"] if result.get("width") is not None else ""
    return data


def _image_only(result: dict[str, Any]) -> str:
    """Edited images: ``data`` is the base64 image itself."""
    return result["image"]


def _tagger(result: dict[str, Any]) -> dict[str, Any]:
    return {"caption": result["caption"], "probs": result["probs"]}


def face_attr(face: dict[str, Any]) -> dict[str, Any]:
    """One element of FaceAttrImage's ``attr``: the seed's group names and layout (plus nothing else)."""
    female = face["female_hair_style"]
    return {
        "FaceShape": dict(face["face_shape"]),
        "FemaleHairStyle": {
            "BangsType": dict(female["bangs_type"]),
            "FemaleCurlyHairType": dict(female["curly_hair_type"]),
            "FemaleHairType": dict(female["hair_type"]),
            "FemaleLongShortHair": dict(female["long_short_hair"]),
            "Tied hair": female["tied_hair"],
            "Braided hair": female["braided_hair"],
        },
        "HairColor": dict(face["hair_color"]),
        "MaleHairStyle": dict(face["male_hair_style"]),
        "bbox": list(face["bbox"]),
        "face_score": round(face["face_score"], 4),
        "index": face["index"],
    }


def _faces(result: dict[str, Any]) -> dict[str, Any]:
    return {"attr": [face_attr(f) for f in result["faces"]]}


def _age(result: dict[str, Any]) -> dict[str, Any]:
    return {"age_range": result["age_range"], "age_range_prob": round(result["age_range_prob"], 4)}


# task → formatter of its stored result into PAI's ``data`` / ``Result`` object
RESULT_FORMATTERS = {
    "image_quality": _image_quality,
    "video_quality": _video_quality,
    "image_tags": _image_tags,
    "video_classify": _classification,
    "multimodal": _classification,
    "body_reshape": _image_only,
    "watermark_remove": _image_only,
    "anime_tags": _tagger,
    "face_attributes": _faces,
    "face_age": _age,
}


def format_result(task: str, result: dict[str, Any]) -> Any:
    return RESULT_FORMATTERS.get(task, _as_is)(result)


def result_string(job: Job) -> str:
    """The job's ``Result``: a compact JSON string once done, "" before (and on failure)."""
    if job.result is None:
        return ""
    data = format_result(job.task, job.result)
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def job_view(job: Job, *, in_batch: bool = False) -> dict[str, Any]:
    """One job as PAI shows it (keys in the service's alphabetical order)."""
    view: dict[str, Any] = {"Result": result_string(job), "app_id": job.app_id}
    if in_batch:
        view["batch_id"] = job.batch_id
    view["create_time"] = pai_time(job.create_time)
    view["id"] = job.id
    view["message"] = job.message
    if in_batch:
        view["object"] = job.object_url or ""
    view["state"] = job.state
    return view
