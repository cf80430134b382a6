"""The PAI multimedia-analysis endpoints (WIRE.md §A.5): authenticate, decode, hand to the core, format.

Order of checks follows the service: credentials (400 unknown AppId / 401 sign error) before the body is decoded,
then types (400 Unmarshal), then required fields, then the model lookup (404), then the work.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from medialens.core import Core, CoreError, JobRequest, Media
from medialens.protocols.http import read_capped, signed_path
from medialens.protocols.pai import errors
from medialens.protocols.pai.actions import task_for
from medialens.protocols.pai.auth import signature_matches, split_authorization
from medialens.protocols.pai.errors import PaiError
from medialens.protocols.pai.format import format_result, job_view
from medialens.protocols.pai.gojson import GoJSONError, Struct, decode
from medialens.protocols.pai.schemas import BATCH_VIDEO_REQUEST, IMAGE_REQUEST, VIDEO_REQUEST

log = logging.getLogger(__name__)

MAX_BATCH_VIDEOS = 100
MAX_POST_IMAGES = 20


def envelope(data: Any = None, *, status: int = 200, code: str = "OK", message: str = "success") -> JSONResponse:
    body = {"request_id": str(uuid.uuid4()), "code": code, "message": message, "data": data}
    return JSONResponse(body, status_code=status)


def error_response(err: PaiError) -> JSONResponse:
    return envelope(None, status=err.status, code=err.code, message=err.message)


class PaiRoute(APIRoute):
    """Answers every core error in PAI's shape, mapped in one place (``errors.from_core``)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except CoreError as err:
                return error_response(errors.from_core(err))

        return route


router = APIRouter(prefix="/api/v1", include_in_schema=False, route_class=PaiRoute)


def _core(request: Request) -> Core:
    return request.app.state.core


async def authenticate(request: Request, endpoint: str) -> tuple[str, bytes]:
    """Check the Authorization header against the raw body; returns (AppId, body)."""
    limit = _core(request).settings.max_request_bytes
    body = await read_capped(request, limit, lambda: errors.parameter_error("request body too large", status=413))
    parsed = split_authorization(request.headers.get("authorization"))
    if parsed is None:
        raise errors.sign_error()
    app_id, sig = parsed
    token = await run_in_threadpool(_core(request).app_token, app_id)
    if token is None:
        raise errors.unknown_app(endpoint)
    if not signature_matches(token, request.method, signed_path(request), body, sig):
        raise errors.sign_error()
    return app_id, body


def _decode(body: bytes, struct: Struct) -> dict[str, Any]:
    try:
        return decode(body, struct)
    except GoJSONError as err:
        raise errors.parameter_error(str(err)) from err


def _task(request: Request, endpoint: str, req: dict[str, Any]) -> str:
    task = task_for(endpoint, req.get("action", ""), req.get("model_name", ""))
    if task is None or not _core(request).available(task):
        raise errors.model_not_found()
    return task


@router.post("/images")
async def images(request: Request) -> JSONResponse:
    _, body = await authenticate(request, "images")
    req = _decode(body, IMAGE_REQUEST)
    if not req.get("image"):
        raise errors.parameter_error("image is empty")
    task = _task(request, "images", req)
    opts = _core(request).options(task, req.get("configure"))
    result = await run_in_threadpool(_core(request).run_now, task, Media(url=req["image"]), opts)
    return envelope(format_result(result))


@router.post("/videos")
async def videos(request: Request) -> JSONResponse:
    app_id, body = await authenticate(request, "videos")
    req = _decode(body, VIDEO_REQUEST)
    if not req.get("video_url") and not req.get("images"):
        raise errors.parameter_error("video_url is empty")
    if "\x00" in req.get("video_url", ""):  # no URL holds a NUL, and PostgreSQL text cannot store one
        raise errors.parameter_error("video_url is not a valid url")
    task = _task(request, "videos", req)
    images = req.get("images") or []
    if len(images) > MAX_POST_IMAGES:
        raise errors.parameter_error(f"too many images: at most {MAX_POST_IMAGES}")
    if any(not isinstance(u, str) or not u for u in images):
        raise errors.parameter_error("image url is empty")
    # The official client sends the video title again as "text" (WIRE.md A.8): a post's text is the title when
    # only that came, never both glued together.
    title, text = req.get("video_title", ""), req.get("text", "")
    job = JobRequest(
        task,
        _core(request).options(task, req.get("configure")),
        url=req.get("video_url", ""),
        title=title,
        text=text if text and text != title else title,
        images=tuple(images),
        object_url=req.get("video_url"),
    )
    _, ids = await run_in_threadpool(_core(request).submit, app_id, [job])
    return envelope({"job_id": ids[0]})


@router.post("/batch_videos")
async def batch_videos(request: Request) -> JSONResponse:
    app_id, body = await authenticate(request, "batch_videos")
    req = _decode(body, BATCH_VIDEO_REQUEST)
    videos = req.get("videos") or []
    if not videos:
        raise errors.parameter_error("videos is empty")
    if len(videos) > MAX_BATCH_VIDEOS:
        raise errors.parameter_error(f"too many videos: at most {MAX_BATCH_VIDEOS} per batch")
    if any(not v.get("url") for v in videos):
        raise errors.parameter_error("video url is empty")
    if any("\x00" in v["url"] for v in videos):
        raise errors.parameter_error("video url is not a valid url")
    task = _task(request, "batch_videos", req)
    opts = _core(request).options(task, req.get("configure"))
    jobs = [JobRequest(task, opts, url=v["url"], title=v.get("title", ""), object_url=v["url"]) for v in videos]
    batch_id, _ = await run_in_threadpool(_core(request).submit, app_id, jobs, batch=True)
    return envelope({"batch_id": batch_id})


def _int_id(raw: str, what: str) -> int:
    # isascii: str.isdigit() is also true for "²" (int() then raises) and "١٢" (Arabic-Indic digits)
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise errors.parameter_error(f"invalid {what}: {raw[:40]}")
    return int(raw)


@router.post("/async_jobs/{job_id}")
async def async_job(request: Request, job_id: str) -> JSONResponse:
    app_id, _ = await authenticate(request, "async_jobs")
    job = await run_in_threadpool(_core(request).job, _int_id(job_id, "job id"), app_id)
    if job is None:
        raise errors.parameter_error("job not found", status=404)
    return envelope({"job": job_view(job)})


@router.get("/batch_jobs/{batch_id}")
async def batch_job(request: Request, batch_id: str) -> JSONResponse:
    app_id, _ = await authenticate(request, "batch_jobs")
    jobs = await run_in_threadpool(_core(request).batch, _int_id(batch_id, "batch id"), app_id)
    if jobs is None:
        raise errors.parameter_error("batch not found", status=404)
    return envelope({"jobs": [job_view(j, in_batch=True) for j in jobs]})


@router.post("/{service:path}")
async def other_service(request: Request, service: str) -> JSONResponse:
    """The SDK's other services (text, AIGC images, AI creation, LLM judging): authenticated, then "model not
    found" — no analysis behind them yet, and an unknown path answers the same way the service does."""
    await authenticate(request, service)
    raise errors.model_not_found()
