"""``POST /api/predict/{service}``: find the service (404), read the body under its limit (413), check the token
or signature (401), parse the seed's request (400), run the model through the core, answer in the seed's shape.

Every error is a non-200 JSON ``{request_id, success: false, error_code, error_msg}``: 4xx for what the client
can fix (the official client retries 5xx answers five times).
"""

from __future__ import annotations

import binascii
import json
import logging
import os
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from medialens.core import Core, CoreError, Media
from medialens.protocols.http import b64decode, read_capped, signed_path
from medialens.protocols.modelhub import errors
from medialens.protocols.modelhub.auth import PREFIX as AUTH_PREFIX
from medialens.protocols.modelhub.auth import authorized
from medialens.protocols.modelhub.errors import HubError
from medialens.protocols.modelhub.files import file_links
from medialens.protocols.modelhub.format import answer, render

log = logging.getLogger(__name__)

PREFIX = "/api/predict"
QUEUE_HEADER = "x-eas-queueservice-redis-uid"
QUEUE_HEADER_RAW = QUEUE_HEADER.encode()
JSON_OVERHEAD = 64 * 1024


def _error(err: HubError, request_id: str | None = None) -> JSONResponse:
    body = {
        "request_id": request_id or str(uuid.uuid4()),
        "success": False,
        "error_code": err.code,
        "error_msg": err.message,
    }
    return JSONResponse(body, status_code=err.status)


class HubRoute(APIRoute):
    """Answers every error in the Model Hub shape: core errors mapped in one place (``errors.from_core``)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            return await answered(request, handler(request))

        return route


async def answered(request: Request, reply: Awaitable[Response]) -> Response:
    """The endpoint's response, or its error in the Model Hub shape (a server fault: a 5xx the client retries,
    never a traceback)."""
    try:
        return await reply
    except HubError as err:
        return _error(err)
    except CoreError as err:
        return _error(errors.from_core(err))
    except Exception:
        log.exception("model hub request failed: %s", request.url.path)
        return _error(HubError(500, "internal server error"))


router = APIRouter(prefix=PREFIX, include_in_schema=False, route_class=HubRoute)


def _core(request: Request) -> Core:
    return request.app.state.core


def body_limit(core: Core) -> int:
    """Two base64 images at the image limit plus the JSON around them (or the general limit, if larger)."""
    return max(core.settings.max_request_bytes, 2 * (core.settings.image_max_bytes * 4 // 3 + 4) + JSON_OVERHEAD)


# --- request parsing -------------------------------------------------------------------------------------------------
def _json(body: bytes) -> dict[str, Any]:
    try:
        req = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise errors.bad_request("the request body is not valid JSON") from None
    if not isinstance(req, dict):
        raise errors.bad_request("the request body must be a JSON object")
    return req


def _string(req: dict[str, Any], key: str, where: str = "") -> str:
    value = req.get(key)
    if value is None or value == "":
        raise errors.bad_request(f"{where}{key} is missing")
    if not isinstance(value, str):
        raise errors.bad_request(f"{where}{key} must be a string")
    return value


def _b64(req: dict[str, Any], key: str, where: str = "") -> bytes:
    value = _string(req, key, where)
    if value.startswith("data:") and "," in value[:200]:  # a data URL: the payload after the comma
        value = value.split(",", 1)[1]
    try:
        return b64decode(value)
    except (binascii.Error, ValueError):
        raise errors.bad_request(f"{where}{key} is not valid base64") from None


def _image(req: dict[str, Any]) -> tuple[Media, dict[str, Any]]:
    return Media(data=_b64(req, "image")), {}


def _pair(req: dict[str, Any], where: str = "") -> Media:
    return Media(data=_b64(req, "imagea", where), more=(_b64(req, "imageb", where),))


def _foreground(req: dict[str, Any]) -> tuple[Media, dict[str, Any]]:
    given = req.get("input")
    if isinstance(given, dict) and given.get("url") is not None:
        return Media(url=_string(given, "url", "input.")), {}
    if "image" in req:  # also the image itself, like every other image service
        return _image(req)
    raise errors.bad_request("input.url is missing")


def _similarity(req: dict[str, Any]) -> tuple[Media, dict[str, Any]]:
    return _pair(req), {}


def _product(req: dict[str, Any]) -> tuple[Media, dict[str, Any]]:
    name = req.get("function_name")
    if name != "match":
        raise errors.bad_request('function_name must be "match"')
    params = req.get("function_params")
    if not isinstance(params, dict):
        raise errors.bad_request("function_params is missing")
    metric = params.get("metric", "L2")
    if metric not in ("L2", "Cosine"):
        raise errors.bad_request('function_params.metric must be "L2" or "Cosine"')
    return _pair(params, "function_params."), {"metric": metric}


def _microseconds(value: Any) -> float:
    """``play_duration``: microseconds as a number or a numeric string (the seed types it STRING)."""
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            value = None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1e15:
        raise errors.bad_request("input.play_duration must be a positive number of microseconds")
    return float(value)


def _video(req: dict[str, Any]) -> tuple[Media, dict[str, Any]]:
    given = req.get("input")
    if not isinstance(given, dict):
        raise errors.bad_request('input is missing: the request is {"input": {"url": ..., "play_duration": ...}}')
    url = _string(given, "url", "input.")
    duration = given.get("play_duration")
    if duration is None or duration == "":
        return Media(url=url), {}
    return Media(url=url), {"play_duration_s": _microseconds(duration) / 1e6}


def _text(req: dict[str, Any]) -> tuple[Media, dict[str, Any]]:
    first = _string(req, "first_sequence")
    second = req.get("second_sequence") or ""
    if not isinstance(second, str):
        raise errors.bad_request("second_sequence must be a string")
    length = req.get("sequence_length", 128)
    if isinstance(length, bool) or not isinstance(length, int) or not 1 <= length <= 512:
        raise errors.bad_request("sequence_length must be an integer from 1 to 512")
    ident = req.get("id", "")
    if not isinstance(ident, str | int):
        raise errors.bad_request("id must be a string")
    return Media(text=first), {"sequence_length": length, "second_sequence": second}


PARSERS: dict[str, Callable[[dict[str, Any]], tuple[Media, dict[str, Any]]]] = {
    "image_classification": _image,
    "object_detection": _image,
    "inventory_counting": _image,
    "ocr": _image,
    "scene_classification": _image,
    "face_attributes": _image,
    "semantic_segmentation": _image,
    "instance_segmentation": _image,
    "image_colorization": _image,
    "face_enhancement": _image,
    "foreground_segmentation": _foreground,
    "image_similarity": _similarity,
    "face_similarity": _similarity,
    "product_comparison": _product,
    "text_vectorization": _text,
    "video_highlight": _video,
    "video_super_resolution": _video,
    "video_classification": _video,
    "asr_zh": _video,
    "asr_zh_ecommerce": _video,
    "speech_detection_zh": _video,
    "bgm_detection": _video,
    "speech_vector_zh": _video,
    "speech_vector_en": _video,
    "speaker_classification_zh": _video,
}


# --- the endpoint ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Call:
    """What the endpoint needs of one request, read on the event loop."""

    name: str
    body: bytes
    authorization: str | None
    content_type: str
    date: str | None
    path: str
    base_url: str = ""


# A large signed body is parsed on one of these threads while the request's thread hashes it for the signature
# check: hashlib lets go of the GIL while it hashes, so on a second core the two overlap (an 860 KB image: 1.3 ms of
# MD5 beside 1.0 ms of JSON and base64). The other way round would not: json.loads holds the GIL until it is done,
# so a thread waiting to start the MD5 would wait for the whole parse.
_PARSERS_ASIDE = ThreadPoolExecutor(max_workers=2, thread_name_prefix="medialens-hub-parse")
PARSE_ASIDE_BYTES = 64 * 1024
"""Smaller bodies are parsed in line, after the check: handing one over costs more than its MD5."""


def _parse(model: str, body: bytes) -> tuple[dict[str, Any], Media, dict[str, Any]]:
    req = _json(body)
    media, given = PARSERS[model](req)
    return req, media, given


def _held(model: str, body: bytes) -> tuple[dict[str, Any], Media, dict[str, Any]] | Exception:
    """What :func:`_parse` answers or raises, kept to be told once the caller is known."""
    try:
        return _parse(model, body)
    except Exception as err:
        return err


def _parse_aside(model: str, call: _Call) -> Future[tuple[dict[str, Any], Media, dict[str, Any]] | Exception] | None:
    """The body parsed on another thread, for a signed request with a large body on a multi-core host."""
    signed = (call.authorization or "").startswith(AUTH_PREFIX)
    if not signed or len(call.body) < PARSE_ASIDE_BYTES or (os.cpu_count() or 1) < 2:
        return None
    return _PARSERS_ASIDE.submit(_held, model, call.body)


def _predict(core: Core, call: _Call) -> Response:
    """Everything after the body is read, in one worker thread (one hop off the event loop per request).

    A large signed body is parsed aside while this thread hashes it, but what the parse found (an answer or an
    error) is told only once the signature holds: an unauthorized request still gets 401, whatever its body. Other
    bodies are parsed after the check, as a plain token costs nothing to refuse."""
    request_id = str(uuid.uuid4())
    service = core.service(call.name)
    if service is None:
        raise errors.no_service(call.name)
    deployed = service.model in PARSERS and service.available
    aside = _parse_aside(service.model, call) if deployed else None
    ok = authorized(
        service.token,
        call.authorization,
        method="POST",
        body=call.body,
        content_type=call.content_type,
        date=call.date,
        path=call.path,
    )
    if not ok:
        raise errors.unauthorized()
    if not deployed:
        raise HubError(404, f"model {service.model} is not deployed: {service.hint}")
    parsed = aside.result() if aside is not None else _parse(service.model, call.body)
    if isinstance(parsed, Exception):
        raise parsed
    req, media, given = parsed
    options = core.options(service.task, given)
    try:
        result = core.run_now(service.task, media, options)
    except CoreError as err:
        return _error(errors.from_core(err), request_id)
    extra = {"id": req.get("id", "")} | given | file_links(core, service.model, result, call.base_url)
    return Response(render(answer(service.model, result, extra, request_id)), media_type="application/json")


@router.post("/{name}")
async def predict(request: Request, name: str) -> Response:
    if QUEUE_HEADER in request.headers:  # the queue client's put (WIRE.md §D.2)
        from medialens.protocols.modelhub.queue_routes import put_request

        return await put_request(request, name)
    core = _core(request)
    call = _Call(
        name=name,
        body=await read_capped(request, body_limit(core), lambda: errors.too_large(body_limit(core))),
        authorization=request.headers.get("authorization"),
        content_type=request.headers.get("content-type", ""),
        date=request.headers.get("date"),
        path=signed_path(request),
        base_url=str(request.base_url),
    )
    return await run_in_threadpool(_predict, core, call)


class PredictFastPath:
    """Pure ASGI middleware: a plain ``POST /api/predict/{name}`` goes straight to :func:`predict`, past the
    router's matching of every route and FastAPI's per-route layers (~1 ms a request on a busy 2-core machine, a
    tenth of what the protocol adds to a 20 ms model). Everything else (queue puts, other methods, a root path,
    nested names) takes the ordinary route, which answers the same way."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.route = next(r for r in router.routes if getattr(r, "path", None) == f"{PREFIX}/{{name}}")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        name = path[len(PREFIX) + 1 :]
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or not path.startswith(f"{PREFIX}/")
            or not name
            or "/" in name
            or scope.get("root_path")
            or any(key == QUEUE_HEADER_RAW for key, _ in scope["headers"])
        ):
            await self.app(scope, receive, send)
            return
        scope["route"] = self.route  # what the router would have set (the metrics label it by its template)
        scope["path_params"] = {"name": name}
        request = Request(scope, receive)
        response = await answered(request, predict(request, name))
        await response(scope, receive, send)
