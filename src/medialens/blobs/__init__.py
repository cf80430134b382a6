"""Blob storage shared by the API and every worker: a local folder by default, any fsspec URL (``s3://``) for
a cluster.

Keys are ``/``-separated relative names (``jobs/42/video``). Writes are whole objects: on S3 a PUT is atomic, on a
local folder we write a temporary file and rename it, so a reader never sees half an object. Job steps use it to
be idempotent: a large video download is kept under ``jobs/<id>/video`` and a retry of the job (on this machine or
another) downloads it instead of fetching the origin again (``tasks.intake``).
"""

from __future__ import annotations

import os
import posixpath
import shutil
import tempfile
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import fsspec

from medialens.config import Settings

__all__ = ["BlobStore", "open_blob_store"]

COPY_CHUNK = 1024 * 1024


class BlobStore:
    """Objects under one root URL (``file:///…`` or ``s3://bucket/prefix``)."""

    def __init__(self, url: str, **storage_options: Any) -> None:
        self.url = url.rstrip("/")
        fs, root = fsspec.core.url_to_fs(self.url, **storage_options)
        self.fs: fsspec.AbstractFileSystem = fs
        self.root = root.rstrip("/")
        self.is_local = "file" in (fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,))
        if self.is_local:
            Path(self.root).mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> str:
        clean = posixpath.normpath(key.strip("/"))
        if clean in ("", ".") or clean.startswith(".."):
            raise ValueError(f"bad blob key: {key!r}")
        return f"{self.root}/{clean}"

    # --- whole objects ------------------------------------------------------------------------------------------
    def put_bytes(self, key: str, data: bytes) -> None:
        path = self._path(key)
        if self.is_local:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=Path(path).parent, prefix=".put-")
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, path)
        else:
            self.fs.pipe_file(path, data)

    def put_stream(self, key: str, src: BinaryIO) -> int:
        """Copy a readable file object (from its current position) in chunks, never whole in memory; returns
        the bytes written."""
        path = self._path(key)
        if self.is_local:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=Path(path).parent, prefix=".put-")
            try:
                with os.fdopen(fd, "wb") as out:
                    shutil.copyfileobj(src, out, COPY_CHUNK)
                    size = out.tell()
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            return size
        with self.fs.open(path, "wb") as out:
            shutil.copyfileobj(src, out, COPY_CHUNK)
            return out.tell()

    def put_file(self, key: str, src: Path) -> None:
        path = self._path(key)
        if self.is_local:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            tmp = f"{path}.{uuid.uuid4().hex}.part"
            shutil.copyfile(src, tmp)
            os.replace(tmp, path)
        else:
            self.fs.put_file(str(src), path)

    def get_bytes(self, key: str) -> bytes:
        """The object's bytes; FileNotFoundError when there is none."""
        return self.fs.cat_file(self._path(key))

    def get_file(self, key: str, dest: Path) -> Path:
        """Download to ``dest`` (via a temp file beside it, so ``dest`` is never half-written)."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.part")
        try:
            self.fs.get_file(self._path(key), str(tmp))
            tmp.replace(dest)
        finally:
            tmp.unlink(missing_ok=True)
        return dest

    def exists(self, key: str) -> bool:
        self._invalidate()
        return self.fs.exists(self._path(key))

    def delete(self, key: str) -> None:
        """Remove one object or everything under a prefix; absent keys are fine."""
        path = self._path(key)
        self._invalidate()
        if self.fs.exists(path):
            self.fs.rm(path, recursive=True)

    def list(self, prefix: str = "") -> list[str]:
        """Keys under ``prefix`` (recursively), sorted."""
        base = self._path(prefix) if prefix.strip("/") else self.root
        self._invalidate()
        try:
            found = self.fs.find(base)
        except FileNotFoundError:
            return []
        return sorted(p[len(self.root) + 1 :] for p in found)

    def modified(self, prefix: str) -> dict[str, float]:
        """When each object under ``prefix`` was last written (Unix seconds): a file's mtime, an S3 object's
        LastModified."""
        base = self._path(prefix)
        self._invalidate()
        try:
            found = self.fs.find(base, detail=True)
        except FileNotFoundError:
            return {}
        out = {}
        for path, info in found.items():
            when = info.get("mtime", info.get("LastModified"))
            if isinstance(when, datetime):
                when = when.timestamp()
            if when is not None:
                out[path[len(self.root) + 1 :]] = float(when)
        return out

    def _invalidate(self) -> None:
        # s3fs caches listings; another worker may have written since.
        invalidate = getattr(self.fs, "invalidate_cache", None)
        if invalidate is not None:
            invalidate()


def open_blob_store(settings: Settings) -> BlobStore:
    """The configured store: ``MEDIALENS_BLOB_URL`` (``s3://`` honours ``MEDIALENS_S3_ENDPOINT_URL``), else the
    local blob folder."""
    url = settings.blob_url or str(settings.resolved_blob_dir / "store")
    if url.startswith(("s3://", "s3a://")):
        options: dict[str, Any] = {}
        if settings.s3_endpoint_url:
            options["endpoint_url"] = settings.s3_endpoint_url
        return BlobStore(url, **options)
    if "://" not in url:
        url = Path(url).expanduser().resolve().as_uri()
    return BlobStore(url)
