"""The EAS queue service (WIRE.md §D.2) on every Model Hub service: the input queue ``/api/predict/{service}`` and
its sink ``/api/predict/{service}/sink``, driven by the official ``QueueClient``.

put (``POST``, told apart from a prediction by the client's ``X-EAS-QueueService-Redis-Uid`` header; the answer is
the index as text and the request id in ``X-Eas-Queueservice-Request-Id``), get (``GET``: protobuf
``DataFrameListProto``), commit (``PUT ?_indexes_=``), delete (``DELETE ?_indexes_=``), truncate (``DELETE
?_index_=N&_trunc_=true``), attributes (``GET ?_attrs_=true``) and search (``GET ?_search_=true&_index_=N``) as
JSON (search: ``{"ConsumerId", "IsPending", "WaitCount"}`` as EAS answers it), and watch (a websocket on the same
path streaming ``DataFrameProto``s). Delivery and commit: ``core.queues``. Every call carries the service's
token as it is (``Authorization: <token>``); a wrong one is a 401 in the Model Hub error shape. The queues
themselves are the core's (``core.queues``); this module parses, checks and formats.

A sink item of a queued request is the service's own answer (the seed's JSON, as ``POST /api/predict`` would
give it), tagged with its ``requestId``; a failed request's answer is the seed's error body, with its message also
in the frame's ``message``.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from contextlib import aclosing
from typing import Any

import anyio
from fastapi import APIRouter, Request, Response, WebSocket
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocketDisconnect

from medialens.core import Core, CoreError, JobState, ServiceView
from medialens.core.queues import QueueEntry, Queues, service_of
from medialens.protocols.http import read_capped, signed_path
from medialens.protocols.modelhub import errors
from medialens.protocols.modelhub.auth import authorized
from medialens.protocols.modelhub.errors import HubError
from medialens.protocols.modelhub.files import file_links
from medialens.protocols.modelhub.format import answer, render
from medialens.protocols.modelhub.frames import frame, frame_list
from medialens.protocols.modelhub.routes import PARSERS, PREFIX, HubRoute, _json, body_limit

router = APIRouter(prefix=PREFIX, include_in_schema=False, route_class=HubRoute)

REQUEST_ID_HEADER = "X-Eas-Queueservice-Request-Id"
UID_HEADER = "X-EAS-QueueService-Redis-Uid"
PROTOBUF = "application/vnd.google.protobuf"
RESERVED = {"_index_", "_length_", "_timeout_", "_raw_", "_auto_delete_", "_indexes_", "_trunc_", "_attrs_",
            "_search_", "_watch_", "_window_", "_index_only_", "_auto_commit_", "requestId"}  # fmt: skip
MAX_LENGTH = 1000
ANSWER_MARGIN_S = 0.5
"""A long poll answers this much before the client's own timeout (``_timeout_`` is also its read timeout)."""
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")


# --- parsing ----------------------------------------------------------------------------------------------------------
def _queue_of(name: str) -> tuple[str, str, bool]:
    """(queue, service, is sink) of a path under /api/predict; a path that is no queue is a 404."""
    service, is_sink = service_of(name)
    if not service or "/" in service:
        raise HubError(404, f"{PREFIX}/{name[:64]} is not served")
    return name, service, is_sink


def _flag(q: Mapping[str, str], key: str, default: bool = False) -> bool:
    value = q.get(key)
    if value is None or value == "":
        return default
    if value.lower() not in ("true", "false"):
        raise errors.bad_request(f"{key} must be true or false")
    return value.lower() == "true"


def _count(q: Mapping[str, str], key: str, default: int, low: int = 0, high: int = 2**63 - 1) -> int:
    value = q.get(key)
    if value is None or value == "":
        return default
    if not (value.isascii() and value.isdigit()) or not low <= int(value) <= high:
        raise errors.bad_request(f"{key} must be an integer from {low} to {high}")
    return int(value)


def _indexes(q: Mapping[str, str]) -> list[int]:
    raw = [part.strip() for part in q.get("_indexes_", "").split(",") if part.strip()]
    if not raw or not all(p.isascii() and p.isdigit() for p in raw):
        raise errors.bad_request("_indexes_ must be a comma-separated list of indexes")
    return [int(p) for p in raw[:MAX_LENGTH]]


def _seconds(value: str | None, default: float) -> float:
    """``_timeout_``: "5s", "500ms", "1m" or a number of seconds."""
    if value is None or value == "":
        return default
    m = _DURATION.match(value)
    if m is None:
        raise errors.bad_request('_timeout_ must be a duration such as "5s" or "500ms"')
    scale = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}[m.group(2) or "s"]
    return float(m.group(1)) * scale


def _tags(q: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in q.items() if k not in RESERVED}


# --- the service and its token ----------------------------------------------------------------------------------------
def _check(
    core: Core, service_name: str, headers: Mapping[str, str], method: str, body: bytes, path: str
) -> ServiceView:
    service = core.service(service_name)
    if service is None:
        raise errors.no_service(service_name)
    ok = authorized(
        service.token,
        headers.get("authorization"),
        method=method,
        body=body,
        content_type=headers.get("content-type", ""),
        date=headers.get("date"),
        path=path,
    )
    if not ok:
        raise errors.unauthorized()
    return service


# --- answers ----------------------------------------------------------------------------------------------------------
def _error_body(err: HubError, request_id: str) -> bytes:
    body = {"request_id": request_id, "success": False, "error_code": err.code, "error_msg": err.message}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _payload(core: Core, entry: QueueEntry, base_url: str) -> tuple[bytes, str]:
    """(data, message) of an item as the client reads it."""
    job = entry.job
    if job is None:
        if entry.message:  # a request the service could not read
            err = HubError(int(entry.params.get("error_code", 400)), entry.message)
            return _error_body(err, entry.request_id), entry.message
        return entry.data or b"", ""
    if job.state not in JobState.FINISHED:  # still in the input queue: what was put
        return entry.data or b"", ""
    model = str(entry.params.get("model", ""))
    if job.state == JobState.COMPLETED and job.result is not None:
        extra = dict(entry.params.get("extra") or {}) | file_links(core, model, job.result, base_url)
        return render(answer(model, job.result, extra, entry.request_id)), ""
    err = errors.from_job_message(job.message)
    return _error_body(err, entry.request_id), err.message


def _frames(core: Core, entries: list[QueueEntry], base_url: str, index_only: bool = False) -> list[tuple]:
    out = []
    for e in entries:
        data, message = _payload(core, e, base_url)
        out.append((e.index, b"" if index_only else data, e.tags, message))
    return out


def _ok() -> Response:
    return Response("OK", media_type="text/plain")


# --- put --------------------------------------------------------------------------------------------------------------
def _enqueue(core: Core, service: ServiceView, body: bytes, tags: dict[str, str]) -> tuple[int, str]:
    """A readable request becomes a job; one the service cannot read is queued failed (its answer: the error)."""
    queues = Queues(core)
    params: dict[str, Any] = {"model": service.model}
    try:
        if service.model not in PARSERS or not service.available:
            raise HubError(404, f"model {service.model} is not deployed: {service.hint}")
        req = _json(body)
        media, given = PARSERS[service.model](req)
        options = core.options(service.task, given)
    except (HubError, CoreError) as exc:
        err = exc if isinstance(exc, HubError) else errors.from_core(exc)
        return queues.refuse(service.name, body, tags, err.message, params | {"error_code": err.code})
    params["extra"] = {"id": req.get("id", "")} | given
    return queues.submit(service.name, service.task, body, tags, media, options, params)


async def put_request(request: Request, name: str) -> Response:
    """``POST /api/predict/{service}`` from the queue client: into the service's input queue."""
    core: Core = request.app.state.core
    body = await read_capped(request, body_limit(core), lambda: errors.too_large(body_limit(core)))
    path = signed_path(request)
    service = await run_in_threadpool(_check, core, name, request.headers, "POST", body, path)
    index, request_id = await run_in_threadpool(_enqueue, core, service, body, _tags(request.query_params))
    return Response(str(index), media_type="text/plain", headers={REQUEST_ID_HEADER: request_id})


@router.post("/{name:path}")
async def put_sink(request: Request, name: str) -> Response:
    """A put into a sink: kept as it is (nothing runs it)."""
    core: Core = request.app.state.core
    queue, service_name, is_sink = _queue_of(name)
    if not is_sink:
        raise HubError(404, f"{PREFIX}/{name[:64]} is not served")
    body = await read_capped(request, body_limit(core), lambda: errors.too_large(body_limit(core)))
    await run_in_threadpool(_check, core, service_name, request.headers, "POST", body, signed_path(request))
    index, request_id = await run_in_threadpool(Queues(core).put, queue, body, _tags(request.query_params))
    return Response(str(index), media_type="text/plain", headers={REQUEST_ID_HEADER: request_id})


# --- get, attributes, search ------------------------------------------------------------------------------------------
@router.get("/{name:path}")
async def queue_get(request: Request, name: str) -> Response:
    core: Core = request.app.state.core
    queue, service_name, _ = _queue_of(name)
    await run_in_threadpool(_check, core, service_name, request.headers, "GET", b"", signed_path(request))
    q = request.query_params
    queues = Queues(core)
    if _flag(q, "_attrs_"):
        attrs = await run_in_threadpool(queues.attributes, queue)
        return JSONResponse(attrs | {"stream.maxPayloadBytes": str(body_limit(core))})
    if _flag(q, "_search_"):
        index = _count(q, "_index_", 0, low=1)
        found = await run_in_threadpool(queues.search, queue, index)
        if found is None:
            raise HubError(404, f"no item {index} in queue {queue}")
        return JSONResponse(found)
    if _flag(q, "_watch_"):
        raise errors.bad_request("watch is a websocket: connect to the same URL with ws://")
    timeout = _seconds(q.get("_timeout_"), 0.0)
    entries = await queues.get(
        queue,
        start=_count(q, "_index_", 0),
        length=_count(q, "_length_", 1, low=1, high=MAX_LENGTH),
        request_id=q.get("requestId") or None,
        tags=_tags(q),
        auto_delete=_flag(q, "_auto_delete_"),
        timeout_s=max(0.0, timeout - ANSWER_MARGIN_S) if timeout > 2 * ANSWER_MARGIN_S else timeout,
    )
    frames = await run_in_threadpool(_frames, core, entries, str(request.base_url))
    return Response(frame_list(frames), media_type=PROTOBUF)


# --- commit, delete, truncate -----------------------------------------------------------------------------------------
@router.put("/{name:path}")
async def commit(request: Request, name: str) -> Response:
    core: Core = request.app.state.core
    queue, service_name, _ = _queue_of(name)
    await run_in_threadpool(_check, core, service_name, request.headers, "PUT", b"", signed_path(request))
    await run_in_threadpool(Queues(core).commit, queue, _indexes(request.query_params))
    return _ok()


@router.delete("/{name:path}")
async def delete(request: Request, name: str) -> Response:
    core: Core = request.app.state.core
    queue, service_name, _ = _queue_of(name)
    await run_in_threadpool(_check, core, service_name, request.headers, "DELETE", b"", signed_path(request))
    q = request.query_params
    queues = Queues(core)
    if _flag(q, "_trunc_"):
        await run_in_threadpool(queues.truncate, queue, _count(q, "_index_", 0))
    else:
        await run_in_threadpool(queues.delete, queue, _indexes(q))
    return _ok()


@router.patch("/{name:path}")
async def other(name: str) -> Response:
    raise HubError(405, f"PATCH {PREFIX}/{name[:64]} is not served")


# --- watch ------------------------------------------------------------------------------------------------------------
async def _refuse(ws: WebSocket, err: HubError) -> None:
    body = {"request_id": str(uuid.uuid4()), "success": False, "error_code": err.code, "error_msg": err.message}
    try:
        await ws.send_denial_response(JSONResponse(body, status_code=err.status))
    except RuntimeError:  # a server without the denial extension: a plain refusal (HTTP 403)
        await ws.close(code=1008)


@router.websocket("/{name:path}")
async def watch(ws: WebSocket, name: str) -> None:
    """Stream the queue's items as ``DataFrameProto`` messages until the client goes away (``Queues.watch``:
    each item to one watcher, again to another if this one leaves without committing it)."""
    core: Core = ws.app.state.core
    q = ws.query_params
    try:
        queue, service_name, _ = _queue_of(name)
        path = ws.url.path + (f"?{ws.url.query}" if ws.url.query else "")
        await run_in_threadpool(_check, core, service_name, ws.headers, "GET", b"", path)
        start = _count(q, "_index_", 0)
        window = _count(q, "_window_", 1, low=1, high=MAX_LENGTH)
        index_only, auto_commit = _flag(q, "_index_only_"), _flag(q, "_auto_commit_")
    except HubError as err:
        await _refuse(ws, err)
        return
    await ws.accept()
    base_url = str(ws.base_url).replace("ws://", "http://", 1).replace("wss://", "https://", 1)

    consumer = ws.headers.get(UID_HEADER) or str(uuid.uuid4())  # the client's own id: one per QueueClient

    async def pump() -> None:
        stream = Queues(core).watch(queue, consumer=consumer, start=start, window=window, auto_commit=auto_commit)
        try:
            async with aclosing(stream):  # closed at once: what was not committed is released
                async for entry in stream:
                    ((index, data, tags, message),) = await run_in_threadpool(
                        _frames, core, [entry], base_url, index_only
                    )
                    await ws.send_bytes(frame(index, data, tags, message))
        except (WebSocketDisconnect, RuntimeError, OSError):  # the client went away mid-send
            pass
        finally:
            group.cancel_scope.cancel()

    async def listen() -> None:
        try:
            while (await ws.receive())["type"] != "websocket.disconnect":
                pass
        finally:
            group.cancel_scope.cancel()

    async with anyio.create_task_group() as group:
        group.start_soon(pump)
        group.start_soon(listen)
