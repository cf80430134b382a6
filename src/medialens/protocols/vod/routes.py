"""The VOD RPC endpoint (WIRE.md §B): ``POST /`` with every parameter in the query string, the action in
``x-acs-action`` (V3) or ``Action`` (V1).

Checks, in order: a readable signature (IncompleteSignature), a known AccessKey (InvalidAccessKeyId.NotFound), a
timestamp within ±15 minutes (InvalidTimeStamp.*), the signature itself (SignatureDoesNotMatch, whose message
carries our string to sign after a ':' as the old SDK expects), a nonce never seen (SignatureNonceUsed), then the
action (InvalidAction.NotFound). Every answer is PascalCase JSON with a RequestId.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from medialens.core import CoreError
from medialens.core.vod import Vod
from medialens.protocols.http import read_capped
from medialens.protocols.vod import auth, errors
from medialens.protocols.vod.actions import ACTIONS, Call
from medialens.protocols.vod.errors import VodError

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)
MAX_BODY = 64 * 1024


def error_response(err: VodError, request: Request, request_id: str | None = None) -> JSONResponse:
    body = {
        "RequestId": request_id or str(uuid.uuid4()).upper(),
        "HostId": request.headers.get("host", "vod.aliyuncs.com"),
        "Code": err.code,
        "Message": err.message,
        "Recommend": "",
    }
    return JSONResponse(body, status_code=err.status)


async def _verified(request: Request, vod: Vod, body: bytes) -> tuple[auth.SignedRequest, str]:
    headers = {k.lower(): v for k, v in request.headers.items()}
    raw_query = request.scope.get("query_string", b"").decode("latin-1")
    try:
        signed = auth.parse(request.method, request.url.path, raw_query, headers, body)
    except auth.SignatureFormatError as err:
        raise errors.incomplete_signature() from err
    found = await run_in_threadpool(vod.key_secret, signed.key_id)
    if found is None:
        raise errors.unknown_key()
    secret, account = found
    try:
        if not auth.fresh(signed.timestamp):
            raise errors.expired_timestamp()
    except ValueError as err:
        raise errors.bad_timestamp() from err
    if not auth.matches(signed, secret):
        raise errors.signature_mismatch(auth.string_to_sign(signed))
    if not await run_in_threadpool(vod.first_use_of_nonce, signed.key_id, signed.nonce):
        raise errors.nonce_used()
    if signed.security_token:
        raise errors.sts_not_supported()
    return signed, account


@router.post("/")
async def rpc(request: Request) -> Response:
    request_id = str(uuid.uuid4()).upper()
    try:
        body = await read_capped(
            request, MAX_BODY, lambda: VodError(413, "InvalidParameter.Body", "The request body is too large.")
        )  # read before the signature is checked: an unsigned client must not make the server hold more
        vod = Vod(request.app.state.core)
        signed, account = await _verified(request, vod, body)
        handler = ACTIONS.get(signed.action)
        if handler is None:
            raise errors.unknown_action(signed.action)
        call = Call(vod, account, signed.params, str(request.base_url).rstrip("/"))
        answer: dict[str, Any] = await run_in_threadpool(handler, call)
    except VodError as err:
        return error_response(err, request, request_id)
    except CoreError as err:
        return error_response(errors.from_core(err), request, request_id)
    except Exception:
        log.exception("VOD action failed")
        return error_response(errors.internal_error(), request, request_id)
    return JSONResponse({"RequestId": request_id, **answer})


@router.get("/vod/files/{key:path}")
async def signed_file(request: Request, key: str) -> Response:
    """Stored files (covers) through expiring signed URLs."""
    vod = Vod(request.app.state.core)
    q = request.query_params
    data = await run_in_threadpool(vod.signed_file, key, q.get("expires", ""), q.get("sig", ""))
    if data is None:
        return JSONResponse({"Code": "Forbidden", "Message": "The URL is not valid or has expired."}, status_code=403)
    media_type = (
        "image/jpeg" if key.endswith(".jpg") else "image/gif" if key.endswith(".gif") else "application/octet-stream"
    )
    return Response(data, media_type=media_type)
