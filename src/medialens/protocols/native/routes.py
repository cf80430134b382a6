"""The native ``/v1`` endpoints: bearer auth, pydantic bodies, core calls, ``{"error": {code, message}}`` errors.

Every route (``/v1/tasks`` and ``/v1/models`` included) needs ``Authorization: Bearer <app_id>:<token>``. Errors
never leak a traceback: bad input is 400, a body over ``max_request_bytes`` 413, unknown task / job / batch and
missing models 404, a failed analysis 422.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPBearer
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from medialens.core import (
    AlreadyExists,
    AnalysisFailed,
    AppInfo,
    BadMedia,
    Core,
    CoreError,
    InvalidOptions,
    JobRequest,
    JobState,
    JobView,
    Media,
    MediaTooLarge,
    ModelInfo,
    ModelNotFound,
    NotFound,
    ServiceError,
    TaskNotFound,
    Unprocessable,
    WorkersUnavailable,
)
from medialens.protocols.http import WireError, capped, read_capped, replayed
from medialens.protocols.native import schemas as s

log = logging.getLogger(__name__)


class NativeError(WireError):
    """The native API: ``{"error": {code, message}}``."""


def from_core(err: CoreError) -> NativeError:
    """The one place a core error becomes the native API's answer."""
    if isinstance(err, TaskNotFound):
        return NativeError(404, "task_not_found", err.message)
    if isinstance(err, ModelNotFound):
        return NativeError(404, "model_not_found", err.message[:500])
    if isinstance(err, NotFound):
        return NativeError(404, "not_found", err.message[:500])
    if isinstance(err, AlreadyExists):
        return NativeError(409, "already_exists", err.message[:500])
    if isinstance(err, InvalidOptions):
        return NativeError(400, "invalid_options", f"options.{err.field} {err.problem}"[:500])
    if isinstance(err, MediaTooLarge):
        return NativeError(413, "media_too_large", err.message[:500])
    if isinstance(err, BadMedia):
        return NativeError(400, "bad_media", f"{err.message} ({err.hint})"[:1000] if err.hint else err.message[:500])
    if isinstance(err, Unprocessable):
        return NativeError(422, "unprocessable", err.message[:500])
    if isinstance(err, ServiceError):
        status = 409 if "already exists" in err.message else 400
        return NativeError(status, "already_exists" if status == 409 else "invalid_request", err.message[:500])
    if isinstance(err, WorkersUnavailable):
        return NativeError(503, "workers_unavailable", err.message[:500])
    if isinstance(err, AnalysisFailed):
        return NativeError(422, "analysis_failed", err.message[:500])
    return NativeError(500, "internal", err.message[:500])


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def _core(request: Request) -> Core:
    return request.app.state.core


ADMIN_PREFIX = "/v1/admin/"


async def _authenticate(request: Request, *, admin: bool) -> str:
    """The app the request is from, or "admin" on admin routes. ``admin`` comes from the route's own path template,
    never from the request's URL (which a reverse proxy's root path would change)."""
    header = request.headers.get("authorization", "")
    scheme, _, credential = header.partition(" ")
    app_id, sep, token = credential.strip().partition(":")
    if scheme.lower() != "bearer" or not sep or not app_id or not token or len(app_id) > 64:
        raise NativeError(401, "unauthorized", "expected Authorization: Bearer <app_id>:<token>")
    if admin:
        if app_id != "admin" or not _core(request).is_admin(token):
            raise NativeError(
                401, "unauthorized", "the admin API takes Authorization: Bearer admin:<MEDIALENS_ADMIN_TOKEN>"
            )
        return "admin"
    expected = await run_in_threadpool(_core(request).app_token, app_id)
    if expected is None or not hmac.compare_digest(expected.encode(), token.encode()):
        raise NativeError(401, "unauthorized", "unknown app or wrong token")
    return app_id


UPLOAD_OVERHEAD = 64 * 1024  # multipart boundaries, headers and the options part around the file


def _body_limit(request: Request, *, images_only: bool) -> int:
    """JSON bodies are small; a multipart upload may be as large as the largest media the route accepts (an image
    for /v1/analyze, which runs image tasks only)."""
    settings = _core(request).settings
    if request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        largest = settings.image_max_bytes if images_only else max(settings.image_max_bytes, settings.video_max_bytes)
        return max(settings.max_request_bytes, largest) + UPLOAD_OVERHEAD
    return settings.max_request_bytes


async def _limited(request: Request, *, images_only: bool = False) -> Request:
    """The request as its handler reads it: a JSON body read whole (it is small) and replayed; a multipart upload
    left unread, counted as the handler streams it to a temporary file (Starlette spools parts over 1 MB to
    disk), so a video upload is never held in memory. Either way, past the limit the read answers 413."""
    limit = _body_limit(request, images_only=images_only)

    def too_large() -> NativeError:
        return NativeError(413, "request_too_large", f"request body over {limit} bytes")

    if _is_multipart(request):
        return capped(request, limit, too_large)
    return replayed(request, await read_capped(request, limit, too_large))


class NativeRoute(APIRoute):
    """Authenticates before anything else, caps the body size, and turns every error into the native shape."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                request.state.native_admin = self.path.startswith(ADMIN_PREFIX)
                request.state.native_app_id = await _authenticate(request, admin=request.state.native_admin)
                if request.method in ("POST", "PUT", "PATCH"):
                    request = await _limited(request, images_only=self.path.startswith("/v1/analyze/"))
                return await handler(request)
            except CoreError as err:
                mapped = from_core(err)
                return error_response(mapped.status, mapped.code, mapped.message)
            except NativeError as err:
                return error_response(err.status, err.code, err.message)
            except RequestValidationError as err:
                return error_response(400, "invalid_request", s.validation_message(err.errors()))
            finally:
                await request.close()  # an upload's temporary file

        return route


_bearer = HTTPBearer(auto_error=False, description="Bearer <app_id>:<token> (from `medialens apps create`)")
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": s.ErrorResponse, "description": text}
    for code, text in (
        (400, "bad input"),
        (401, "missing or wrong credentials"),
        (404, "unknown task, job, batch, media or model; or the task's models are not installed"),
        (413, "request body too large"),
        (422, "the analysis failed"),
        (503, "no worker answered a synchronous request in time (executor=celery)"),
    )
}
router = APIRouter(
    prefix="/v1",
    tags=["native"],
    route_class=NativeRoute,
    dependencies=[Security(_bearer)],  # documents the scheme; NativeRoute does the check
    responses=_ERRORS,
)

JobId = Annotated[int, Path(ge=1, le=s.MAX_ID)]


def _app_id(request: Request) -> str:
    return request.state.native_app_id


def _job_request(request: Request, item: s.JobCreate, media_key: str | None = None) -> JobRequest:
    core = _core(request)
    core.require(item.task)
    options = core.options(item.task, item.options, strict=True)
    if item.media is not None:
        media_key = core.media_key(_app_id(request), item.media)
        if media_key is None:
            raise NativeError(404, "media_not_found", f"no media {item.media}")
    return JobRequest(
        item.task,
        options,
        url=item.url,
        title=item.title,
        text=item.text or item.title,
        images=tuple(item.images),
        object_url=item.url or None,
        media_key=media_key,
    )


def _job_view(job: JobView) -> s.JobView:
    return s.JobView(
        id=job.id,
        task=job.task,
        state=job.state,
        state_name=job.state_name,
        message=job.message,
        created_at=job.created_at.isoformat(),
        batch_id=job.batch_id,
        result=job.result.model_dump(mode="json") if job.result is not None else None,
    )


@router.get("/tasks", response_model=s.TaskList, summary="List tasks")
async def tasks(request: Request) -> s.TaskList:
    """Every task, its media kind, whether its models are installed, and the JSON schema of its options."""
    rows = await run_in_threadpool(_core(request).tasks)
    return s.TaskList(
        tasks=[
            s.TaskInfo(
                name=t.name,
                media_kind=t.media_kind,
                summary=t.summary,
                available=t.available,
                options=t.options_schema,
            )
            for t in rows
        ]
    )


@router.get("/services", response_model=s.ServiceList, summary="List Model Hub services")
async def services(request: Request) -> s.ServiceList:
    """The deployed Model Hub services (as `medialens services list`; tokens are not shown)."""
    rows = await run_in_threadpool(_core(request).services)
    return s.ServiceList(services=[_service_info(v) for v in rows])


def _service_info(v: Any) -> s.ServiceInfo:
    return s.ServiceInfo(
        name=v.name,
        model=v.model,
        description=v.description,
        deployed=v.available,
        hint=v.hint,
        created_at=v.created_at.isoformat(),
    )


@router.get("/models", response_model=s.ModelList, summary="List models")
async def models(request: Request) -> s.ModelList:
    """The model registry with each model's install status (as `medialens models list`)."""
    return s.ModelList(models=await run_in_threadpool(_core(request).models))


@router.get("/models/{name}", response_model=ModelInfo, summary="Get a model")
async def model(request: Request, name: Annotated[str, Path(max_length=128)]) -> ModelInfo:
    """One model of the registry with its install status."""
    for m in await run_in_threadpool(_core(request).models):
        if m.name == name:
            return m
    raise NativeError(404, "model_not_found", f"no model named {name[:128]!r}")


@router.get("/tasks/{task}", response_model=s.TaskInfo, summary="Get a task")
async def task_info(request: Request, task: Annotated[str, Path(max_length=64)]) -> s.TaskInfo:
    """One task, as listed by GET /v1/tasks."""
    core = _core(request)
    core.spec(task)
    listed = await tasks(request)
    return next(i for i in listed.tasks if i.name == task)


_MULTIPART_SCHEMA = {
    "type": "object",
    "required": ["file"],
    "properties": {
        "file": {"type": "string", "format": "binary", "description": "the image"},
        "options": {"type": "string", "description": "the task's options as a JSON object"},
    },
}


async def _analyze_body(request: Request) -> tuple[Media, dict[str, Any]]:
    """The media and raw options of an analyze request: a JSON body (url or base64) or a multipart upload."""
    if _is_multipart(request):
        form = await _read_form(request, max_fields=4)
        upload, raw_options = form.get("file"), form.get("options") or "{}"
        if upload is None or isinstance(upload, str):
            raise NativeError(400, "invalid_request", "file: a file part named 'file' is required")
        try:
            options = json.loads(raw_options) if isinstance(raw_options, str) else None
        except ValueError:
            options = None
        if not isinstance(options, dict):
            raise NativeError(400, "invalid_request", "options: must be a JSON object")
        return Media(data=await upload.read()), options
    try:
        body = s.AnalyzeRequest.model_validate_json(await request.body())
    except ValidationError as err:
        raise NativeError(400, "invalid_request", s.validation_message(err.errors())) from err
    if body.base64 is not None:
        try:
            return Media(data=base64.b64decode(body.base64, validate=True)), body.options
        except (binascii.Error, ValueError) as err:
            raise NativeError(400, "invalid_request", "base64: not valid base64") from err
    return Media(url=body.url or ""), body.options


@router.post(
    "/analyze/{task}",
    response_model=s.AnalyzeResponse,
    summary="Analyze an image now",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": s.AnalyzeRequest.model_json_schema()},
                "multipart/form-data": {"schema": _MULTIPART_SCHEMA},
            },
        }
    },
)
async def analyze(request: Request, task: Annotated[str, Path(max_length=64)]) -> s.AnalyzeResponse:
    """Run an image task synchronously on a URL, a base64 image or an uploaded file (multipart); video tasks go
    through POST /v1/jobs."""
    core = _core(request)
    spec = core.require(task)
    if spec.media_kind != "image":
        raise NativeError(
            400, "invalid_request", f"task {task} takes {spec.media_kind}, not an image: submit it with POST /v1/jobs"
        )
    media, raw_options = await _analyze_body(request)
    options = core.options(task, raw_options, strict=True)
    result = await run_in_threadpool(core.run_now, task, media, options)
    return s.AnalyzeResponse(task=task, result=result.model_dump(mode="json"))


_JOB_MULTIPART_SCHEMA = {
    "type": "object",
    "required": ["task", "file"],
    "properties": {
        "task": {"type": "string", "description": "a task name from GET /v1/tasks"},
        "file": {"type": "string", "format": "binary", "description": "the image or video"},
        "options": {"type": "string", "description": "the task's options as a JSON object"},
        "title": {"type": "string", "description": "a title (video classification mixes it in)"},
    },
}


async def _read_form(request: Request, max_fields: int) -> Any:
    """The multipart form, its file part in a temporary file (closed with the request, ``NativeRoute``)."""
    try:
        return await request.form(max_files=1, max_fields=max_fields)
    except NativeError:  # over the size limit while streaming
        raise
    except Exception as err:  # python-multipart's and Starlette's parse errors have no common base
        raise NativeError(400, "invalid_request", f"multipart body could not be read: {err}"[:500]) from err


def _uploaded_file(form: Any) -> Any:
    """The form's file part (a Starlette UploadFile over a temporary file), refused when missing or empty."""
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise NativeError(400, "invalid_request", "file: a file part named 'file' is required")
    if not upload.size:
        raise NativeError(400, "invalid_request", "file: the file is empty")
    upload.file.seek(0)
    return upload


def _json_options(raw: Any) -> dict[str, Any]:
    raw = "{}" if raw is None or raw == "" else raw
    try:
        options = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        options = None
    if not isinstance(options, dict):
        raise NativeError(400, "invalid_request", "options: must be a JSON object")
    return options


def _is_multipart(request: Request) -> bool:
    return request.headers.get("content-type", "").lower().startswith("multipart/form-data")


@router.post(
    "/jobs",
    response_model=s.JobAccepted,
    status_code=202,
    summary="Submit a job",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": s.JobCreate.model_json_schema()},
                "multipart/form-data": {"schema": _JOB_MULTIPART_SCHEMA},
            },
        }
    },
)
async def submit_job(request: Request) -> s.JobAccepted:
    """Queue one task run (any task; video tasks only run this way) on a URL, a stored upload (`media`, from
    POST /v1/media) or a file uploaded with the job (multipart: `task`, `file`, `options` as a JSON string,
    `title`). Follow it with GET /v1/jobs/{id} or GET /v1/jobs/{id}/events."""
    core, app_id = _core(request), _app_id(request)
    if _is_multipart(request):
        form = await _read_form(request, max_fields=8)
        task, title = form.get("task"), form.get("title") or ""
        if not isinstance(task, str) or not isinstance(title, str):
            raise NativeError(400, "invalid_request", "task: a text part named 'task' is required")
        try:
            # "media" stands in for the upload while the fields are checked (the job gets the upload's key)
            placeholder = "0" * 32
            item = s.JobCreate(task=task, title=title, media=placeholder, options=_json_options(form.get("options")))
        except ValidationError as err:
            raise NativeError(400, "invalid_request", s.validation_message(err.errors())) from err
        core.require(item.task)
        core.options(item.task, item.options, strict=True)  # refused before the upload is kept
        upload = _uploaded_file(form)
        media_id, key = await run_in_threadpool(core.put_media, app_id, upload.file, temporary=True)
        try:
            job = _job_request(request, item.model_copy(update={"media": None}), media_key=key)
            _, ids = await run_in_threadpool(core.submit, app_id, [job])
        except BaseException:  # no job will ever read or remove it
            await run_in_threadpool(core.delete_media, app_id, media_id)
            raise
        return s.JobAccepted(id=ids[0], state=JobState.INITIALIZING)
    else:
        try:
            item = s.JobCreate.model_validate_json(await request.body())
        except ValidationError as err:
            raise NativeError(400, "invalid_request", s.validation_message(err.errors())) from err
        job = await run_in_threadpool(_job_request, request, item)
    _, ids = await run_in_threadpool(core.submit, app_id, [job])
    return s.JobAccepted(id=ids[0], state=JobState.INITIALIZING)


@router.get("/jobs", response_model=s.JobPage, summary="List jobs")
async def list_jobs(
    request: Request,
    task: Annotated[str | None, Query(max_length=64, description="only this task's jobs")] = None,
    state: Annotated[int | None, Query(ge=0, le=3, description="only jobs in this state")] = None,
    limit: Annotated[int, Query(ge=1, le=s.MAX_PAGE, description="jobs per page")] = 50,
    before: Annotated[int | None, Query(ge=1, le=s.MAX_ID, description="`next` of the previous page")] = None,
) -> s.JobPage:
    """The app's jobs, newest first, a page at a time."""
    jobs = await run_in_threadpool(
        lambda: _core(request).jobs(_app_id(request), task=task, state=state, limit=limit + 1, before=before)
    )
    more = len(jobs) > limit
    jobs = jobs[:limit]
    return s.JobPage(jobs=[_job_view(j) for j in jobs], next=jobs[-1].id if more else None)


@router.get("/jobs/{job_id}", response_model=s.JobView, summary="Get a job")
async def get_job(request: Request, job_id: JobId) -> s.JobView:
    job = await run_in_threadpool(_core(request).job, job_id, _app_id(request))
    if job is None:
        raise NativeError(404, "job_not_found", f"no job {job_id}")
    return _job_view(job)


@router.post("/jobs/{job_id}/cancel", response_model=s.JobView, summary="Cancel a job")
async def cancel_job(request: Request, job_id: JobId) -> s.JobView:
    """Cancel a waiting or running job: it ends in state 3 with the message "cancelled" at once, and a running
    analysis stops at its next progress report (a video task at its next frame), freeing its worker. A finished
    job is returned unchanged."""
    job = await run_in_threadpool(_core(request).cancel, job_id, _app_id(request))
    if job is None:
        raise NativeError(404, "job_not_found", f"no job {job_id}")
    return _job_view(job)


class _StreamSlots:
    """How many event streams each app holds open (one event loop serves them: no lock needed)."""

    def __init__(self) -> None:
        self.open: dict[str, int] = {}

    def take(self, app_id: str, limit: int) -> None:
        if self.open.get(app_id, 0) >= limit:
            raise NativeError(
                429,
                "too_many_streams",
                f"at most {limit} event streams per app at once: close one, or poll GET /v1/jobs/{{id}}",
            )
        self.open[app_id] = self.open.get(app_id, 0) + 1

    def give_back(self, app_id: str) -> None:
        left = self.open.get(app_id, 1) - 1
        if left > 0:
            self.open[app_id] = left
        else:
            self.open.pop(app_id, None)


def _stream_slots(request: Request) -> _StreamSlots:
    state = request.app.state
    if getattr(state, "native_stream_slots", None) is None:
        state.native_stream_slots = _StreamSlots()
    return state.native_stream_slots


class _SlotStream(StreamingResponse):
    """A stream that gives its app's slot back however it ends (finished, client gone, cancelled)."""

    def __init__(self, content: Any, release: Callable[[], None], **kwargs: Any) -> None:
        super().__init__(content, **kwargs)
        self._release = release

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()


@router.get(
    "/jobs/{job_id}/events",
    summary="Follow a job's progress (server-sent events)",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "`event: job` with a JobView as data"},
        429: {"model": s.ErrorResponse, "description": "the app holds events_max_per_app streams open already"},
    },
)
async def job_events(request: Request, job_id: JobId) -> StreamingResponse:
    """Server-sent events: one `job` event (a JobView as JSON) now and at each change of state or message, until
    the job ends (its last event has state 2 or 3); a comment line every 15 s keeps the connection open. An app
    holds at most `MEDIALENS_EVENTS_MAX_PER_APP` streams at once (429 `too_many_streams` beyond)."""
    core, app_id = _core(request), _app_id(request)
    if await run_in_threadpool(core.job, job_id, app_id) is None:
        raise NativeError(404, "job_not_found", f"no job {job_id}")
    slots = _stream_slots(request)
    slots.take(app_id, core.settings.events_max_per_app)

    async def stream() -> Any:
        async for job in core.watch(job_id, app_id):
            if job is None:
                yield ": keep-alive\n\n"
            else:
                yield f"event: job\ndata: {_job_view(job).model_dump_json()}\n\n"

    return _SlotStream(
        stream(),
        lambda: slots.give_back(app_id),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.post(
    "/media",
    response_model=s.MediaStored,
    status_code=201,
    summary="Upload media",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                }
            },
        }
    },
)
async def upload_media(request: Request) -> s.MediaStored:
    """Keep an image or video (multipart, the part named `file`) for jobs to name by `media`; it stays until
    DELETE /v1/media/{id}."""
    if not _is_multipart(request):
        raise NativeError(400, "invalid_request", "expected a multipart/form-data body with a part named 'file'")
    upload = _uploaded_file(await _read_form(request, max_fields=2))
    media_id, _ = await run_in_threadpool(_core(request).put_media, _app_id(request), upload.file)
    return s.MediaStored(id=media_id, size=upload.size)


MediaId = Annotated[str, Path(pattern=s.MEDIA_ID)]


@router.get(
    "/media/{media_id}",
    summary="Download uploaded media",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
async def get_media(request: Request, media_id: MediaId) -> Response:
    data = await run_in_threadpool(_core(request).media_bytes, _app_id(request), media_id)
    if data is None:
        raise NativeError(404, "media_not_found", f"no media {media_id}")
    return Response(data, media_type="application/octet-stream")


@router.delete("/media/{media_id}", status_code=204, summary="Delete uploaded media", response_class=Response)
async def delete_media(request: Request, media_id: MediaId) -> Response:
    if not await run_in_threadpool(_core(request).delete_media, _app_id(request), media_id):
        raise NativeError(404, "media_not_found", f"no media {media_id}")
    return Response(status_code=204)


@router.post("/batches", response_model=s.BatchAccepted, status_code=202, summary="Submit a batch of jobs")
async def submit_batch(request: Request, body: s.BatchCreate) -> s.BatchAccepted:
    """Queue up to 100 jobs at once; every item is checked before any is queued."""
    jobs = [_job_request(request, item) for item in body.items]
    batch_id, ids = await run_in_threadpool(_core(request).submit, _app_id(request), jobs, batch=True)
    assert batch_id is not None
    return s.BatchAccepted(id=batch_id, job_ids=ids)


@router.get("/batches/{batch_id}", response_model=s.BatchView, summary="Get a batch's jobs")
async def get_batch(request: Request, batch_id: JobId) -> s.BatchView:
    jobs = await run_in_threadpool(_core(request).batch, batch_id, _app_id(request))
    if jobs is None:
        raise NativeError(404, "batch_not_found", f"no batch {batch_id}")
    return s.BatchView(id=batch_id, jobs=[_job_view(j) for j in jobs])


# --- admin: credentials ----------------------------------------------------------------------------------------------
def _require_admin(request: Request) -> None:
    """Second line of defence: the admin handlers run only for a request NativeRoute authenticated as admin."""
    if not getattr(request.state, "native_admin", False) or request.state.native_app_id != "admin":
        raise NativeError(
            401, "unauthorized", "the admin API takes Authorization: Bearer admin:<MEDIALENS_ADMIN_TOKEN>"
        )


def _app_view(app: AppInfo) -> s.AppView:
    return s.AppView(app_id=app.app_id, name=app.name, created_at=app.created_at.isoformat())


@router.get("/admin/apps", response_model=s.AppList, summary="List apps (admin)", tags=["admin"])
async def admin_apps(request: Request) -> s.AppList:
    """Every app (tokens are not shown). Needs `Bearer admin:<MEDIALENS_ADMIN_TOKEN>`."""
    _require_admin(request)
    return s.AppList(apps=[_app_view(a) for a in await run_in_threadpool(_core(request).apps)])


@router.post(
    "/admin/apps", response_model=s.AppCreated, status_code=201, summary="Create an app (admin)", tags=["admin"]
)
async def admin_create_app(request: Request, body: s.AppCreate) -> s.AppCreated:
    """A new app; its token is shown in this answer only."""
    _require_admin(request)
    app, token = await run_in_threadpool(_core(request).create_app, body.name)
    return s.AppCreated(**_app_view(app).model_dump(), token=token)


@router.delete(
    "/admin/apps/{app_id}", status_code=204, summary="Delete an app (admin)", tags=["admin"], response_class=Response
)
async def admin_delete_app(request: Request, app_id: Annotated[str, Path(max_length=64)]) -> Response:
    """Delete an app and its jobs."""
    _require_admin(request)
    if not await run_in_threadpool(_core(request).delete_app, app_id):
        raise NativeError(404, "app_not_found", f"no app {app_id}")
    return Response(status_code=204)


# --- admin: the other protocols' credentials (VOD AccessKeys, Twelve Labs API keys, Model Hub services) ----------
def _admin_delete(found: bool, code: str, what: str) -> Response:
    if not found:
        raise NativeError(404, code, f"no {what}")
    return Response(status_code=204)


@router.get("/admin/keys", response_model=s.VodKeyList, summary="List VOD AccessKeys (admin)", tags=["admin"])
async def admin_vod_keys(request: Request) -> s.VodKeyList:
    """VOD AccessKeys, as `medialens keys list` (secrets are never shown)."""
    _require_admin(request)
    rows = await run_in_threadpool(_core(request).vod_keys)
    return s.VodKeyList(
        keys=[
            s.VodKeyView(access_key_id=k.access_key_id, account=k.account, created_at=k.created_at.isoformat())
            for k in rows
        ]
    )


def _vod_key_created(new: Any) -> s.VodKeyCreated:
    return s.VodKeyCreated(
        access_key_id=new.access_key_id,
        account=new.account,
        access_key_secret=new.access_key_secret,
        created_at=datetime.now(UTC).isoformat(),
    )


@router.post(
    "/admin/keys",
    response_model=s.VodKeyCreated,
    status_code=201,
    summary="Create a VOD AccessKey (admin)",
    tags=["admin"],
)
async def admin_create_vod_key(request: Request, body: s.VodKeyCreate) -> s.VodKeyCreated:
    """A new AccessKey pair for an existing account or a new one; the secret is in this answer only."""
    _require_admin(request)
    new = await run_in_threadpool(_core(request).create_vod_key, body.account)
    if new is None:
        raise NativeError(404, "account_not_found", f"no account {body.account}")
    return _vod_key_created(new)


@router.post(
    "/admin/keys/{key_id}/rotate",
    response_model=s.VodKeyCreated,
    status_code=201,
    summary="Rotate a VOD AccessKey (admin)",
    tags=["admin"],
)
async def admin_rotate_vod_key(request: Request, key_id: Annotated[str, Path(max_length=64)]) -> s.VodKeyCreated:
    """A new pair for the same account; the old key stops working now."""
    _require_admin(request)
    new = await run_in_threadpool(_core(request).rotate_vod_key, key_id)
    if new is None:
        raise NativeError(404, "key_not_found", f"no AccessKey {key_id}")
    return _vod_key_created(new)


@router.delete(
    "/admin/keys/{key_id}",
    status_code=204,
    summary="Delete a VOD AccessKey (admin)",
    tags=["admin"],
    response_class=Response,
)
async def admin_delete_vod_key(request: Request, key_id: Annotated[str, Path(max_length=64)]) -> Response:
    _require_admin(request)
    found = await run_in_threadpool(_core(request).delete_vod_key, key_id)
    return _admin_delete(found, "key_not_found", f"AccessKey {key_id}")


@router.get("/admin/apikeys", response_model=s.ApiKeyList, summary="List video-index API keys (admin)", tags=["admin"])
async def admin_api_keys(request: Request) -> s.ApiKeyList:
    """Twelve Labs API keys by prefix, as `medialens apikeys list`."""
    _require_admin(request)
    rows = await run_in_threadpool(_core(request).api_keys)
    return s.ApiKeyList(api_keys=[s.ApiKeyView(prefix=p, created_at=c.isoformat()) for p, c in rows])


@router.post(
    "/admin/apikeys",
    response_model=s.ApiKeyCreated,
    status_code=201,
    summary="Create an API key (admin)",
    tags=["admin"],
)
async def admin_create_api_key(request: Request) -> s.ApiKeyCreated:
    """A new API key with its own indexes; the key is in this answer only."""
    _require_admin(request)
    key, prefix = await run_in_threadpool(_core(request).create_api_key)
    return s.ApiKeyCreated(api_key=key, prefix=prefix, created_at=datetime.now(UTC).isoformat())


@router.delete(
    "/admin/apikeys/{prefix}",
    status_code=204,
    summary="Delete an API key (admin)",
    tags=["admin"],
    response_class=Response,
)
async def admin_delete_api_key(request: Request, prefix: Annotated[str, Path(max_length=64)]) -> Response:
    """Delete an API key (by its prefix) with its indexes and jobs."""
    _require_admin(request)
    found = await run_in_threadpool(_core(request).delete_api_key, prefix)
    return _admin_delete(found, "api_key_not_found", f"API key {prefix}")


@router.get("/admin/services", response_model=s.ServiceList, summary="List services (admin)", tags=["admin"])
async def admin_services(request: Request) -> s.ServiceList:
    _require_admin(request)
    return await services(request)


@router.get(
    "/admin/service-models",
    response_model=s.HubModelList,
    summary="Model Hub models a service can serve (admin)",
    tags=["admin"],
)
async def admin_service_models(request: Request) -> s.HubModelList:
    _require_admin(request)
    rows = await run_in_threadpool(_core(request).hub_models)
    return s.HubModelList(
        models=[
            s.HubModelView(model=m.name, description=m.description, deployable=hint is None, hint=hint)
            for m, hint in rows
        ]
    )


@router.post(
    "/admin/services",
    response_model=s.ServiceCreated,
    status_code=201,
    summary="Deploy a service (admin)",
    tags=["admin"],
)
async def admin_deploy_service(request: Request, body: s.ServiceCreate) -> s.ServiceCreated:
    """Deploy a Model Hub model as a prediction service; its token is in this answer (rotate to replace it)."""
    _require_admin(request)
    svc = await run_in_threadpool(_core(request).deploy_service, body.model, body.name)
    return s.ServiceCreated(**_service_info(svc).model_dump(), token=svc.token)


@router.post(
    "/admin/services/{name}/rotate",
    response_model=s.ServiceCreated,
    summary="Rotate a service's token (admin)",
    tags=["admin"],
)
async def admin_rotate_service(request: Request, name: Annotated[str, Path(max_length=64)]) -> s.ServiceCreated:
    """A new token; the old one stops working within the credential cache's few seconds."""
    _require_admin(request)
    core = _core(request)
    token = await run_in_threadpool(core.rotate_service_token, name)
    svc = await run_in_threadpool(core.service, name) if token is not None else None
    if token is None or svc is None:
        raise NativeError(404, "service_not_found", f"no service {name}")
    return s.ServiceCreated(**_service_info(svc).model_dump(), token=token)


@router.delete(
    "/admin/services/{name}",
    status_code=204,
    summary="Undeploy a service (admin)",
    tags=["admin"],
    response_class=Response,
)
async def admin_undeploy_service(request: Request, name: Annotated[str, Path(max_length=64)]) -> Response:
    _require_admin(request)
    found = await run_in_threadpool(_core(request).undeploy_service, name)
    return _admin_delete(found, "service_not_found", f"service {name}")
