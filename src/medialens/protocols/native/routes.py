"""The native ``/v1`` endpoints: bearer auth, pydantic bodies, core calls, ``{"error": {code, message}}`` errors.

Every route (``/v1/tasks`` and ``/v1/models`` included) needs ``Authorization: Bearer <app_id>:<token>``. Errors
never leak a traceback: bad input is 400, a body over ``max_request_bytes`` 413, unknown task / job / batch and
missing models 404, a failed analysis 422.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPBearer
from starlette.concurrency import run_in_threadpool

from medialens.core import Core, JobRequest
from medialens.jobs.sync_calls import NoWorkerAnsweredError, RemoteTaskError
from medialens.media.errors import MediaError, TooLargeError, with_hint
from medialens.models.errors import ModelNotInstalledError
from medialens.models.installed import list_models
from medialens.protocols.native import schemas as s
from medialens.protocols.pai import options as pai_options
from medialens.protocols.pai.errors import PaiError
from medialens.store.tables import Job, JobState, as_utc
from medialens.tasks import TASKS, result_payload
from medialens.tasks.base import UnprocessableError

log = logging.getLogger(__name__)

STATE_NAMES = {
    JobState.INITIALIZING: "initializing",
    JobState.RUNNING: "running",
    JobState.COMPLETED: "completed",
    JobState.FAILED: "failed",
}


class NativeError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def _validation_message(err: RequestValidationError) -> str:
    parts = []
    for e in err.errors()[:5]:
        loc = ".".join(str(p) for p in e.get("loc", ()) if p != "body")
        parts.append(f"{loc}: {e.get('msg', 'invalid')}" if loc else str(e.get("msg", "invalid")))
    return "; ".join(parts)[:1000] or "invalid request"


def _core(request: Request) -> Core:
    return request.app.state.core


async def _authenticate(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, credential = header.partition(" ")
    app_id, sep, token = credential.strip().partition(":")
    if scheme.lower() != "bearer" or not sep or not app_id or not token or len(app_id) > 64:
        raise NativeError(401, "unauthorized", "expected Authorization: Bearer <app_id>:<token>")
    expected = await run_in_threadpool(_core(request).app_token, app_id)
    if expected is None or not hmac.compare_digest(expected.encode(), token.encode()):
        raise NativeError(401, "unauthorized", "unknown app or wrong token")
    return app_id


async def _read_limited(request: Request) -> bytes:
    limit = _core(request).settings.max_request_bytes
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise NativeError(413, "request_too_large", f"request body over {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise NativeError(413, "request_too_large", f"request body over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


class NativeRoute(APIRoute):
    """Authenticates before anything else, caps the body size, and turns every error into the native shape."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                request.state.native_app_id = await _authenticate(request)
                if request.method in ("POST", "PUT", "PATCH"):
                    body = await _read_limited(request)
                    sent = False

                    async def replay() -> dict[str, Any]:
                        nonlocal sent
                        if sent:
                            return {"type": "http.disconnect"}
                        sent = True
                        return {"type": "http.request", "body": body, "more_body": False}

                    request = Request(request.scope, replay)
                return await handler(request)
            except NativeError as err:
                return error_response(err.status, err.code, err.message)
            except RequestValidationError as err:
                return error_response(400, "invalid_request", _validation_message(err))

        return route


_bearer = HTTPBearer(auto_error=False, description="Bearer <app_id>:<token> (from `medialens apps create`)")
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": s.ErrorResponse, "description": text}
    for code, text in (
        (400, "bad input"),
        (401, "missing or wrong credentials"),
        (404, "unknown task, job or batch; or the task's models are not installed"),
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


def _require_task(request: Request, task: str) -> str:
    if task not in TASKS:
        raise NativeError(404, "task_not_found", f"no task named {task[:64]!r}")
    if not _core(request).available(task):
        raise NativeError(404, "model_not_found", f"the models of task {task} are not installed")
    return task


def _options(task: str, given: dict[str, Any]) -> dict[str, Any]:
    """PAI's rules where the task has them; keys a task does not know are refused."""
    try:
        parsed = pai_options.parse(task, given)
    except PaiError as err:
        raise NativeError(400, "invalid_options", err.message.replace("configure.", "options.")) from err
    unknown = sorted(set(given) - set(parsed))
    if unknown:
        raise NativeError(400, "invalid_options", f"task {task} does not take options: {', '.join(unknown)[:500]}")
    return parsed


def _job_request(request: Request, item: s.JobCreate) -> JobRequest:
    task = _require_task(request, item.task)
    inputs = {
        "url": item.url,
        "title": item.title,
        "text": item.text or item.title,
        "images": list(item.images),
        "options": _options(task, item.options),
    }
    return JobRequest(task, inputs, item.url or None)


def _job_view(job: Job) -> s.JobView:
    result = None
    if job.result and job.state == JobState.COMPLETED:
        try:
            result = json.loads(job.result)
        except ValueError:
            result = None
    return s.JobView(
        id=job.id,
        task=job.task,
        state=job.state,
        state_name=STATE_NAMES.get(job.state, "unknown"),
        message=job.message or "",
        created_at=as_utc(job.create_time).isoformat(),
        result=result,
    )


@router.get("/tasks", response_model=s.TaskList, summary="List tasks")
async def tasks(request: Request) -> s.TaskList:
    """Every task, its media kind, and whether its models are installed."""
    core = _core(request)
    rows = [
        s.TaskInfo(name=name, media_kind=spec.media_kind, available=await run_in_threadpool(core.available, name))
        for name, spec in TASKS.items()
    ]
    return s.TaskList(tasks=rows)


@router.get("/models", response_model=s.ModelList, summary="List models")
async def models(request: Request) -> s.ModelList:
    """The model registry with each model's install status (as `medialens models list`)."""
    rows = await run_in_threadpool(list_models, _core(request).settings)
    return s.ModelList(models=rows)


@router.post("/analyze/{task}", response_model=s.AnalyzeResponse, summary="Analyze an image now")
async def analyze(
    request: Request, task: Annotated[str, Path(max_length=64)], body: s.AnalyzeRequest
) -> s.AnalyzeResponse:
    """Run an image task synchronously; video tasks go through POST /v1/jobs."""
    _require_task(request, task)
    if TASKS[task].media_kind != "image":
        raise NativeError(400, "invalid_request", f"task {task} takes a video: submit it with POST /v1/jobs")
    inputs = {"url": body.url, "options": _options(task, body.options)}
    try:
        result = await run_in_threadpool(_core(request).run_now, task, inputs)
    except TooLargeError as err:
        raise NativeError(413, "media_too_large", str(err)[:500]) from err
    except MediaError as err:  # with the setting that would allow it, if any (PAI keeps the service's wording)
        raise NativeError(400, "bad_media", with_hint(err)) from err
    except ModelNotInstalledError as err:
        raise NativeError(404, "model_not_found", str(err)[:500]) from err
    except UnprocessableError as err:
        raise NativeError(422, "unprocessable", str(err)[:500]) from err
    except NoWorkerAnsweredError as err:
        raise NativeError(503, "workers_unavailable", str(err)) from err
    except RemoteTaskError as err:  # the worker logged it
        raise NativeError(422, "analysis_failed", str(err)[:500]) from err
    except Exception as err:
        log.exception("%s failed", task)
        raise NativeError(422, "analysis_failed", f"{type(err).__name__}: {err}"[:500]) from err
    # Round-trip through JSON: the same data a stored job result holds (floats, lists, no dataclasses).
    return s.AnalyzeResponse(task=task, result=json.loads(json.dumps(result_payload(result), default=str)))


@router.post("/jobs", response_model=s.JobAccepted, status_code=202, summary="Submit a job")
async def submit_job(request: Request, body: s.JobCreate) -> s.JobAccepted:
    """Queue one task run (any task; video tasks only run this way). Poll GET /v1/jobs/{id}."""
    job = _job_request(request, body)
    _, ids = await run_in_threadpool(_core(request).submit, _app_id(request), [job])
    return s.JobAccepted(id=ids[0], state=JobState.INITIALIZING)


@router.get("/jobs/{job_id}", response_model=s.JobView, summary="Get a job")
async def get_job(request: Request, job_id: JobId) -> s.JobView:
    job = await run_in_threadpool(_core(request).job, job_id, _app_id(request))
    if job is None:
        raise NativeError(404, "job_not_found", f"no job {job_id}")
    return _job_view(job)


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
