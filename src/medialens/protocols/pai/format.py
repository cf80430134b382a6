"""Shape core job views and typed task results the way PAI clients read them."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from medialens.core import JobView
from medialens.core import results as r


def pai_time(value: datetime) -> str:
    """ISO-8601 with milliseconds and UTC offset, as the seed shows: 2022-10-12T10:51:30.015+00:00."""
    return value.isoformat(timespec="milliseconds")


def embedding_string(values: list[float]) -> str:
    """PAI prints embeddings as one comma-separated string; 6 decimals keep unit vectors' cosines intact."""
    return ",".join(repr(round(v, 6)) for v in values)


def _labels(items: list[r.Label], key: str) -> list[dict[str, Any]]:
    return [{"score": round(i.score, 3), key: i.name} for i in items]


def _image_quality(res: r.ImageQuality) -> dict[str, Any]:
    return {"image_height": res.height, "image_width": res.width, "iqa_result": res.score}


def _video_quality(res: r.VideoQuality) -> dict[str, Any]:
    return {
        "video_score": res.score,
        "avg_fps": res.fps,
        "duration": res.duration_s,
        "single_img": res.static_similarity,
        "height": res.height,
        "width": res.width,
    }


def _image_tags(res: r.ImageTags) -> dict[str, Any]:
    data: dict[str, Any] = {"image_height": res.height, "image_width": res.width}
    data["tag_result"] = _labels(res.tags, "tag")
    if res.embedding is not None:
        data["embedding_result"] = embedding_string(res.embedding)
    return data


def _classification(res: r.Classification) -> dict[str, Any]:
    """ClassifyLabelVideo / MultiModalClassify ``Result``: parts switched off by configure are left out."""
    data: dict[str, Any] = {}
    if res.classes is not None:
        data["classification_result"] = [{"class": c.name, "score": round(c.score, 3)} for c in res.classes]
    if res.tags is not None:
        data["tag_result"] = _labels(res.tags, "tag")
    if res.embedding is not None:
        data["embedding_result"] = embedding_string(res.embedding)
    # The seed: video sizes and duration are "" when the post has no video.
    data["duration"] = res.duration_s if res.duration_s is not None else ""
    data["video_height"] = res.height if res.height is not None else ""
    data["video_width"] = res.width if res.width is not None else ""
    return data


def face_attr(face: r.FaceAttributes) -> dict[str, Any]:
    """One element of FaceAttrImage's ``attr``: the seed's group names and layout (plus nothing else)."""
    female = face.female_hair_style
    return {
        "FaceShape": dict(face.face_shape),
        "FemaleHairStyle": {
            "BangsType": dict(female.bangs_type),
            "FemaleCurlyHairType": dict(female.curly_hair_type),
            "FemaleHairType": dict(female.hair_type),
            "FemaleLongShortHair": dict(female.long_short_hair),
            "Tied hair": female.tied_hair,
            "Braided hair": female.braided_hair,
        },
        "HairColor": dict(face.hair_color),
        "MaleHairStyle": dict(face.male_hair_style),
        "bbox": list(face.bbox),
        "face_score": round(face.face_score, 4),
        "index": face.index,
    }


def _faces(res: r.Faces) -> dict[str, Any]:
    return {"attr": [face_attr(f) for f in res.faces]}


def _age(res: r.AgeRange) -> dict[str, Any]:
    return {"age_range": res.age_range, "age_range_prob": round(res.age_range_prob, 4)}


def _edited_image(res: r.BodyReshape | r.WatermarkRemoval) -> str:
    """Edited images: ``data`` is the base64 image itself."""
    return res.image


def _tagger(res: r.AnimeTags) -> dict[str, Any]:
    return {"caption": res.caption, "probs": res.probs}


# result type → formatter into PAI's ``data`` / ``Result`` object
_FORMATTERS: dict[type[r.TaskResult], Callable[[Any], Any]] = {
    r.ImageQuality: _image_quality,
    r.VideoQuality: _video_quality,
    r.ImageTags: _image_tags,
    r.Classification: _classification,
    r.Faces: _faces,
    r.AgeRange: _age,
    r.BodyReshape: _edited_image,
    r.WatermarkRemoval: _edited_image,
    r.AnimeTags: _tagger,
}


def format_result(result: r.TaskResult) -> Any:
    """A task's result as PAI's ``data`` (synchronous) or the parsed ``Result`` (jobs)."""
    return _FORMATTERS[type(result)](result)


def result_string(job: JobView) -> str:
    """The job's ``Result``: a compact JSON string once done, "" before (and on failure)."""
    if job.result is None:
        return ""
    return json.dumps(format_result(job.result), ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def job_view(job: JobView, *, in_batch: bool = False) -> dict[str, Any]:
    """One job as PAI shows it (keys in the service's alphabetical order)."""
    view: dict[str, Any] = {"Result": result_string(job), "app_id": job.app_id}
    if in_batch:
        view["batch_id"] = job.batch_id
    view["create_time"] = pai_time(job.created_at)
    view["id"] = job.id
    view["message"] = job.message
    if in_batch:
        view["object"] = job.object_url or ""
    view["state"] = job.state
    return view
