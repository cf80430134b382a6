"""Clips the video services write, as the ``oss_path`` a user can fetch (``core.hub_files``), and the route that
serves the signed links of a local blob store: ``GET /modelhub/files/{key}?expires=..&sig=..``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from medialens.core import Core, hub_files

CLIP_MODELS = ("video_highlight", "video_super_resolution")
"""Models whose result is a file in the blob store (``result.key``), answered as ``oss_path``."""

files_router = APIRouter(include_in_schema=False)


def file_links(core: Core, model: str, result: Any, base_url: str) -> dict[str, str]:
    """``{"oss_path": link}`` for a model that writes a clip, else nothing."""
    if model not in CLIP_MODELS:
        return {}
    return {"oss_path": hub_files.link(core, result.key, base_url)}


@files_router.get(hub_files.ROUTE + "/{key:path}")
async def signed_file(request: Request, key: str) -> Response:
    q = request.query_params
    core: Core = request.app.state.core
    data = await run_in_threadpool(hub_files.read, core, key, q.get("expires", ""), q.get("sig", ""))
    if data is None:
        body = {"success": False, "error_code": 403, "error_msg": "the link is not valid or has expired"}
        return JSONResponse(body, status_code=403)
    return Response(data, media_type="video/mp4" if key.endswith(".mp4") else "application/octet-stream")
