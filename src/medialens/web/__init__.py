"""The web playground: plain HTML, CSS and JavaScript served by the app (no build step). ``/`` analyses a dropped
file or a URL with the native API and draws the results; ``/admin`` manages credentials. Both run in the browser
with the API's own auth (the AppId:Token, or the admin token, kept in the browser's localStorage)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response

STATIC = Path(__file__).parent / "static"
_TYPES = {".html": "text/html", ".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}
_FILES = {p.name: p for p in STATIC.iterdir() if p.suffix in _TYPES}

router = APIRouter(include_in_schema=False)


def _page(name: str) -> Response:
    return FileResponse(_FILES[name], media_type=_TYPES[_FILES[name].suffix], headers={"Cache-Control": "no-cache"})


@router.get("/")
async def playground() -> Response:
    return _page("index.html")


@router.get("/admin")
async def admin() -> Response:
    return _page("admin.html")


@router.get("/static/{name}")
async def static(name: str) -> Response:
    if name not in _FILES:
        return Response("not found", status_code=404, media_type="text/plain")
    return _page(name)
