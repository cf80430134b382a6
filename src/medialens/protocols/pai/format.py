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


# task → formatter of its stored result into PAI's ``data`` / ``Result`` object
RESULT_FORMATTERS = {
    "image_quality": _image_quality,
    "video_quality": _as_is,
}


def format_result(task: str, result: dict[str, Any]) -> dict[str, Any]:
    return RESULT_FORMATTERS.get(task, _as_is)(result)


def result_string(job: Job) -> str:
    """The job's ``Result``: a compact JSON string once done, "" before (and on failure)."""
    if not job.result:
        return ""
    data = format_result(job.task, json.loads(job.result))
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
