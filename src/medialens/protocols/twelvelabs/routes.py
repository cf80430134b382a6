"""The Twelve Labs API v1.2 (WIRE.md §C): indexes, tasks, videos, classify; ``x-api-key`` auth.

Every answer is ``application/json`` (the client parses nothing else) with every field its pydantic models
require; errors are ``{"code", "message"}`` (``errors.from_core`` maps core errors, once).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Coroutine
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from medialens.core import ClassifyRequest, ClassSpec, CoreError, VideoIndexes
from medialens.protocols.http import read_capped, replayed
from medialens.protocols.twelvelabs import errors
from medialens.protocols.twelvelabs.errors import TlError

log = logging.getLogger(__name__)

OPTIONS = ("visual", "conversation", "text_in_video")
CONVERSATION_OPTIONS = ("semantic", "exact_match")
MAX_PAGE_LIMIT = 50
LIST_KEYS = ("page", "page_limit", "sort_by", "sort_option")


def error_response(err: TlError) -> JSONResponse:
    return JSONResponse({"code": err.code, "message": err.message}, status_code=err.status)


class TlRoute(APIRoute):
    """Checks ``x-api-key`` and answers every protocol and core error in the service's shape."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        public = "/thumbnails/" in self.path  # image URLs handed out in answers: unguessable, like pre-signed ones

        async def route(request: Request) -> Response:
            try:
                if not public:
                    key = request.headers.get("x-api-key", "")
                    owner = await run_in_threadpool(_indexes(request).owner_of, key) if key else None
                    if owner is None:
                        raise errors.api_key_invalid()
                    request.state.owner = owner
                if request.method in ("POST", "PUT", "PATCH"):
                    request = await _with_limited_body(request)
                return await handler(request)
            except CoreError as err:
                return error_response(errors.from_core(err))
            except TlError as err:
                return error_response(err)
            except Exception:
                log.exception("unhandled error on %s", request.url.path)
                return error_response(TlError(500, "internal_error", "internal server error"))

        return route


router = APIRouter(include_in_schema=False, route_class=TlRoute)

UPLOAD_OVERHEAD = 64 * 1024  # multipart boundaries, headers and the other fields around the video


async def _with_limited_body(request: Request) -> Request:
    """The request with its body read no further than the limit (JSON bodies are small; an upload may be as large
    as the largest video accepted), replayed to the handler; over it, 413 before anything is kept."""
    settings = request.app.state.core.settings
    multipart = request.headers.get("content-type", "").lower().startswith("multipart/form-data")
    limit = settings.video_max_bytes + UPLOAD_OVERHEAD if multipart else settings.max_request_bytes
    body = await read_capped(
        request, limit, lambda: TlError(413, "parameter_invalid", f"The request body is over {limit} bytes.")
    )
    return replayed(request, body)


def _indexes(request: Request) -> VideoIndexes:
    return VideoIndexes.of(request.app.state.core)


def _owner(request: Request) -> str:
    return request.state.owner


def _no_content() -> Response:
    return Response(status_code=204, media_type="application/json")


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise errors.parameter_invalid("The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise errors.parameter_invalid("The request body must be a JSON object.")
    return body


def _sort(request: Request, items: list[Any], keys: tuple[str, ...]) -> None:
    """Order a listing by one of ``keys`` (times and states: strings, missing ones first)."""
    key = request.query_params.get("sort_by", "created_at")
    if key not in keys:
        raise errors.parameter_invalid(f"The sort_by parameter must be one of: {', '.join(keys)}.")
    items.sort(key=lambda item: str(getattr(item, key, None) or ""), reverse=_descending(request))


def _int(value: Any, name: str, default: int, low: int, high: int) -> int:
    if value is None or value == "":
        return default
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise errors.parameter_invalid(f"The {name} parameter must be an integer.") from None
    if isinstance(value, bool) or not low <= n <= high:
        raise errors.parameter_invalid(f"The {name} parameter must be an integer from {low} to {high}.")
    return n


def _filters(request: Request, skip: tuple[str, ...] = LIST_KEYS) -> dict[str, Any]:
    """Query filters: ``key=value`` (repeated: any of), ``key[gte]=value`` comparisons."""
    out: dict[str, Any] = {}
    for key in set(request.query_params.keys()):
        if key in skip:
            continue
        values = request.query_params.getlist(key)
        if "[" in key and key.endswith("]"):
            name, op = key[:-1].split("[", 1)
            out.setdefault(name, {})[op] = values[-1]
        else:
            out[key] = values if len(values) > 1 or key == "engine_options" else values[0]
    return out


def _paged(request: Request, items: list[Any], render: Callable[[Any], dict]) -> JSONResponse:
    page = _int(request.query_params.get("page"), "page", 1, 1, 10**6)
    limit = _int(request.query_params.get("page_limit"), "page_limit", 10, 1, MAX_PAGE_LIMIT)
    total = len(items)
    chunk = items[(page - 1) * limit : page * limit]
    info = {
        "limit_per_page": limit,
        "page": page,
        "total_page": max(1, math.ceil(total / limit)),
        "total_results": total,
    }
    return JSONResponse({"data": [render(i) for i in chunk], "page_info": info})


def _descending(request: Request) -> bool:
    option = request.query_params.get("sort_option", "desc")
    if option not in ("asc", "desc"):
        raise errors.parameter_invalid("The sort_option parameter must be asc or desc.")
    return option == "desc"


# --- indexes -------------------------------------------------------------------------------------------------------
def _index_json(v: Any) -> dict[str, Any]:
    return {
        "_id": v.id,
        "index_name": v.name,
        "engines": v.engines,
        "addons": v.addons,
        "video_count": v.video_count,
        "total_duration": v.total_duration,
        "created_at": v.created_at,
        "updated_at": v.updated_at,
        "expires_at": None,
    }


@router.post("/indexes")
async def create_index(request: Request) -> JSONResponse:
    body = await _json(request)
    name, engines = body.get("index_name"), body.get("engines")
    if not isinstance(name, str) or not name:
        raise errors.parameter_not_provided("index_name")
    if not isinstance(engines, list) or not all(isinstance(e, dict) for e in engines):
        raise errors.parameter_not_provided("engines")
    addons = body.get("addons")
    if addons is not None and not (isinstance(addons, list) and all(isinstance(a, str) for a in addons)):
        raise errors.parameter_invalid("The addons parameter must be a list of strings.")
    index_id = await run_in_threadpool(_indexes(request).create_index, _owner(request), name, engines, addons)
    return JSONResponse({"_id": index_id}, status_code=201)


@router.get("/indexes")
async def list_indexes(request: Request) -> JSONResponse:
    sort_by = request.query_params.get("sort_by", "created_at")
    items = await run_in_threadpool(
        _indexes(request).indexes, _owner(request), _filters(request), sort_by, _descending(request)
    )
    return _paged(request, items, _index_json)


@router.get("/indexes/{index_id}")
async def get_index(request: Request, index_id: str) -> JSONResponse:
    return JSONResponse(_index_json(await run_in_threadpool(_indexes(request).index, _owner(request), index_id)))


@router.put("/indexes/{index_id}")
async def update_index(request: Request, index_id: str) -> Response:
    name = (await _json(request)).get("index_name")
    if not isinstance(name, str) or not name:
        raise errors.parameter_not_provided("index_name")
    await run_in_threadpool(_indexes(request).rename_index, _owner(request), index_id, name)
    return _no_content()


@router.delete("/indexes/{index_id}")
async def delete_index(request: Request, index_id: str) -> Response:
    await run_in_threadpool(_indexes(request).delete_index, _owner(request), index_id)
    return _no_content()


# --- tasks ---------------------------------------------------------------------------------------------------------
def _task_json(t: Any) -> dict[str, Any]:
    out = {
        "_id": t.id,
        "index_id": t.index_id,
        "video_id": t.video_id,
        "status": t.status,
        "metadata": t.metadata,
        "created_at": t.created_at,
        "updated_at": t.updated_at,
        "estimated_time": None,
        "process": {"percentage": t.percentage, "remain_seconds": t.remain_seconds},
    }
    if t.message:
        out["error"] = {"message": t.message}
    return out


async def _form_text(value: Any) -> str:
    if isinstance(value, UploadFile):
        return (await value.read(64 * 1024)).decode("utf-8", "replace").strip()
    return str(value).strip()


@router.post("/tasks")
async def create_task(request: Request) -> JSONResponse:
    core = request.app.state.core
    try:
        form = await request.form(max_part_size=core.settings.video_max_bytes + 1)
    except Exception as err:  # not multipart, or a part over the limit
        raise errors.parameter_invalid(f"The request must be multipart/form-data: {err}") from None
    index_id = await _form_text(form.get("index_id") or "")
    if not index_id:
        raise errors.parameter_not_provided("index_id")
    url = ""
    for value in form.getlist("video_url"):  # the client sends it twice: a field and a file part
        url = url or await _form_text(value)
    video = form.get("video_file")
    data, filename = None, ""
    if isinstance(video, UploadFile):
        data = await video.read()
        filename = video.filename or "upload"
    if not url and data is None:
        raise errors.parameter_not_provided("video_file or video_url")
    language = await _form_text(form.get("language") or "") or None
    task_id = await run_in_threadpool(
        lambda: _indexes(request).create_task(
            _owner(request), index_id, url=url, data=data, filename=filename, language=language
        )
    )
    return JSONResponse({"_id": task_id}, status_code=201)


@router.post("/tasks/external-provider")
async def create_task_external(request: Request) -> JSONResponse:
    body = await _json(request)
    index_id, url = body.get("index_id"), body.get("url")
    if not isinstance(index_id, str) or not index_id:
        raise errors.parameter_not_provided("index_id")
    if not isinstance(url, str) or not url:
        raise errors.parameter_not_provided("url")
    task_id = await run_in_threadpool(lambda: _indexes(request).create_task(_owner(request), index_id, url=url))
    return JSONResponse({"_id": task_id}, status_code=201)


@router.get("/tasks/status")
async def task_status(request: Request) -> JSONResponse:
    index_id = request.query_params.get("index_id")
    if not index_id:
        raise errors.parameter_not_provided("index_id")
    counts = await run_in_threadpool(_indexes(request).task_counts, _owner(request), index_id)
    return JSONResponse({"index_id": index_id} | counts)


@router.get("/tasks")
async def list_tasks(request: Request) -> JSONResponse:
    filters = _filters(request)
    index_id = filters.pop("index_id", None)
    items = await run_in_threadpool(_indexes(request).tasks, _owner(request), index_id, filters)
    _sort(request, items, ("created_at", "updated_at", "status"))
    return _paged(request, items, _task_json)


@router.get("/tasks/{task_id}")
async def get_task(request: Request, task_id: str) -> JSONResponse:
    return JSONResponse(_task_json(await run_in_threadpool(_indexes(request).task, _owner(request), task_id)))


@router.delete("/tasks/{task_id}")
async def delete_task(request: Request, task_id: str) -> Response:
    await run_in_threadpool(_indexes(request).delete_task, _owner(request), task_id)
    return _no_content()


# --- videos --------------------------------------------------------------------------------------------------------
def _video_json(v: Any) -> dict[str, Any]:
    return {
        "_id": v.id,
        "metadata": v.metadata,
        "source": v.source,
        "created_at": v.created_at,
        "updated_at": v.updated_at,
        "indexed_at": v.indexed_at,
    }


@router.get("/indexes/{index_id}/videos")
async def list_videos(request: Request, index_id: str) -> JSONResponse:
    items = await run_in_threadpool(_indexes(request).videos, _owner(request), index_id, _filters(request))
    _sort(request, items, ("created_at", "updated_at", "indexed_at"))
    return _paged(request, items, _video_json)


@router.get("/indexes/{index_id}/videos/{video_id}")
async def get_video(request: Request, index_id: str, video_id: str) -> JSONResponse:
    v = await run_in_threadpool(_indexes(request).video, _owner(request), index_id, video_id)
    return JSONResponse(_video_json(v))


@router.put("/indexes/{index_id}/videos/{video_id}")
async def update_video(request: Request, index_id: str, video_id: str) -> Response:
    body = await _json(request)
    title, metadata = body.get("video_title"), body.get("metadata")
    await run_in_threadpool(_indexes(request).update_video, _owner(request), index_id, video_id, title, metadata)
    return _no_content()


@router.delete("/indexes/{index_id}/videos/{video_id}")
async def delete_video(request: Request, index_id: str, video_id: str) -> Response:
    await run_in_threadpool(_indexes(request).delete_video, _owner(request), index_id, video_id)
    return _no_content()


def _seconds(request: Request, name: str) -> float | None:
    value = request.query_params.get(name)
    if value in (None, ""):
        return None
    try:
        return float(value)
    except ValueError:
        raise errors.parameter_invalid(f"The {name} parameter must be a number.") from None


async def _timed(request: Request, index_id: str, video_id: str, kind: str) -> JSONResponse:
    items = await run_in_threadpool(
        _indexes(request).timed_values,
        _owner(request),
        index_id,
        video_id,
        kind,
        _seconds(request, "start"),
        _seconds(request, "end"),
    )
    return JSONResponse({"data": [asdict(i) for i in items]})


@router.get("/indexes/{index_id}/videos/{video_id}/transcription")
async def transcription(request: Request, index_id: str, video_id: str) -> JSONResponse:
    return await _timed(request, index_id, video_id, "transcript")


@router.get("/indexes/{index_id}/videos/{video_id}/text-in-video")
async def text_in_video(request: Request, index_id: str, video_id: str) -> JSONResponse:
    return await _timed(request, index_id, video_id, "text_in_video")


@router.get("/indexes/{index_id}/videos/{video_id}/logo")
async def logo(request: Request, index_id: str, video_id: str) -> JSONResponse:
    await run_in_threadpool(_indexes(request).video, _owner(request), index_id, video_id)
    return JSONResponse({"data": []})  # no logo detector is installed: no logos found


def _thumbnail_url(request: Request, video_id: str, at: float) -> str:
    return f"{str(request.base_url).rstrip('/')}/v1.2/thumbnails/{video_id}/{at:g}.jpeg"


@router.get("/indexes/{index_id}/videos/{video_id}/thumbnail")
async def thumbnail(request: Request, index_id: str, video_id: str) -> JSONResponse:
    at = await run_in_threadpool(
        _indexes(request).thumbnail_time, _owner(request), index_id, video_id, _seconds(request, "time")
    )
    return JSONResponse({"thumbnail": _thumbnail_url(request, video_id, at)})


@router.get("/thumbnails/{video_id}/{name}")
async def thumbnail_image(request: Request, video_id: str, name: str) -> Response:
    try:
        at = float(name.removesuffix(".jpeg").removesuffix(".jpg"))
    except ValueError:
        raise errors.TlError(404, "resource_not_exists", "no such thumbnail") from None
    data = await run_in_threadpool(_indexes(request).thumbnail_at, video_id, at)
    return Response(data, media_type="image/jpeg")


# --- classify ------------------------------------------------------------------------------------------------------
def _str_list(value: Any, name: str, allowed: tuple[str, ...] | None = None) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise errors.parameter_invalid(f"The {name} parameter must be a non-empty list of strings.")
    if allowed is not None and (bad := [v for v in value if v not in allowed]):
        raise errors.parameter_invalid(f"The {name} parameter has {bad[0]!r}; allowed: {', '.join(allowed)}.")
    return list(dict.fromkeys(value))


def _number(value: Any, name: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise errors.parameter_invalid(f"The {name} parameter must be a number from {low:g} to {high:g}.")
    return float(value)


def _bool(value: Any, name: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise errors.parameter_invalid(f"The {name} parameter must be true or false.")
    return value


def parse_classify(body: dict[str, Any], *, bulk: bool) -> ClassifyRequest:
    if "options" not in body:
        raise errors.parameter_not_provided("options")
    options = _str_list(body.get("options"), "options", OPTIONS)
    conversation = body.get("conversation_option") or "semantic"
    if conversation not in CONVERSATION_OPTIONS:
        raise errors.parameter_invalid("The conversation_option parameter must be semantic or exact_match.")
    raw_classes = body.get("classes")
    if not isinstance(raw_classes, list) or not raw_classes:
        raise errors.parameter_not_provided("classes")
    classes, names = [], set()
    for c in raw_classes:
        if not isinstance(c, dict) or not isinstance(c.get("name"), str) or not c["name"]:
            raise errors.parameter_invalid("Each class needs a name.")
        if c["name"] in names:
            raise errors.parameter_invalid(f"The class name {c['name']!r} is used twice.")
        names.add(c["name"])
        prompts = _str_list(c.get("prompts"), f"classes[{c['name']}].prompts")
        own = _str_list(c["options"], f"classes[{c['name']}].options", OPTIONS) if c.get("options") else options
        conv = c.get("conversation_option") or conversation
        if conv not in CONVERSATION_OPTIONS:
            raise errors.parameter_invalid("The conversation_option parameter must be semantic or exact_match.")
        classes.append(ClassSpec(c["name"], tuple(prompts), tuple(own), conv))
    threshold = body.get("threshold") or {}
    if not isinstance(threshold, dict):
        raise errors.parameter_invalid("The threshold parameter must be an object.")
    req = ClassifyRequest(
        classes=classes,
        include_clips=_bool(body.get("include_clips"), "include_clips"),
        show_detailed_score=_bool(body.get("show_detailed_score"), "show_detailed_score"),
        page_limit=_int(body.get("page_limit"), "page_limit", 10, 1, MAX_PAGE_LIMIT),
        min_video_score=_number(threshold.get("min_video_score", 0), "threshold.min_video_score", 0, 100),
        min_clip_score=_number(threshold.get("min_clip_score", 50), "threshold.min_clip_score", 0, 100),
        min_duration_ratio=_number(threshold.get("min_duration_ratio", 0), "threshold.min_duration_ratio", 0, 1),
        filter=body.get("filter") if isinstance(body.get("filter"), dict) else {},
    )
    if bulk:
        if not isinstance(body.get("index_id"), str) or not body["index_id"]:
            raise errors.parameter_not_provided("index_id")
        req.index_id = body["index_id"]
    else:
        ids = body.get("video_ids")
        if ids is None and isinstance(body.get("video_id"), str):
            ids = [body["video_id"]]
        if ids is None:
            raise errors.parameter_not_provided("video_ids")
        req.video_ids = _str_list(ids, "video_ids")
    return req


def _page_json(request: Request, page: Any, req_flags: tuple[bool, bool]) -> dict[str, Any]:
    include_clips, detailed = req_flags
    data = []
    for video in page.data:
        classes = []
        for c in video.classes:
            item: dict[str, Any] = {"name": c.name, "score": c.score, "duration_ratio": c.duration_ratio}
            if include_clips:
                item["clips"] = [
                    {
                        "start": k.start,
                        "end": k.end,
                        "score": k.score,
                        "option": k.option,
                        "prompt": k.prompt,
                        "thumbnail_url": _thumbnail_url(request, video.video_id, round((k.start + k.end) / 2, 2)),
                    }
                    for k in c.clips
                ]
            if detailed:
                item["detailed_scores"] = {
                    "max_score": c.max_score,
                    "avg_score": c.avg_score,
                    "normalized_score": c.normalized_score,
                }
            classes.append(item)
        data.append({"video_id": video.video_id, "classes": classes})
    info = {
        "limit_per_page": page.limit_per_page,
        "total_results": page.total_results,
        "page_expired_at": page.page_expired_at,
        "next_page_token": page.next_page_token or "",
        "prev_page_token": page.prev_page_token or "",
    }
    return {"data": data, "page_info": info}


@router.post("/classify")
async def classify(request: Request) -> JSONResponse:
    req = parse_classify(await _json(request), bulk=False)
    page = await run_in_threadpool(_indexes(request).classify, _owner(request), req)
    return JSONResponse(_page_json(request, page, (req.include_clips, req.show_detailed_score)))


@router.post("/classify/bulk")
async def classify_bulk(request: Request) -> JSONResponse:
    req = parse_classify(await _json(request), bulk=True)
    page = await run_in_threadpool(_indexes(request).classify, _owner(request), req)
    return JSONResponse(_page_json(request, page, (req.include_clips, req.show_detailed_score)))


@router.get("/classify/{token}")
async def classify_page(request: Request, token: str) -> JSONResponse:
    core = _indexes(request)
    page, req = await run_in_threadpool(core.classify_page, _owner(request), token)
    return JSONResponse(_page_json(request, page, (req.include_clips, req.show_detailed_score)))


def mount(app: Any) -> None:
    """Serve the API under /v1.2 (and /v1.1, which the clients also allow)."""
    app.include_router(router, prefix="/v1.2")
    app.include_router(router, prefix="/v1.1")
