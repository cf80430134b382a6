"""Files the Model Hub services write (clips under ``hub/``) as links a user can fetch: with a local blob store an
expiring signed URL that medialens serves itself (``core.file_urls``), with S3 the object's ``s3://`` URI (the
seed answers an ``oss://`` path the same way: the object, for the caller's own credentials)."""

from __future__ import annotations

from medialens.core import file_urls
from medialens.core.service import Core

PREFIX = "hub/"
ROUTE = "/modelhub/files"


def link(core: Core, key: str, base_url: str) -> str:
    """The clip's link; a signed one expires after ``hub_clip_ttl_s``, as the clip itself does
    (``tasks.hub_video.sweep_clips``)."""
    store = core.blobs()
    if not store.is_local:
        return f"{store.url}/{key}"
    ttl_s = int(core.settings.hub_clip_ttl_s)
    return f"{base_url.rstrip('/')}{ROUTE}/{key}?{file_urls.signed_query(core.settings, key, ttl_s)}"


def signed_query(core: Core, key: str, ttl_s: int, now: float | None = None) -> str:
    """The query part of a link (tests make expired ones with ``now`` in the past)."""
    return file_urls.signed_query(core.settings, key, ttl_s, now)


def read(core: Core, key: str, expires: str, sig: str) -> bytes | None:
    """The file behind a link, or None when the link is forged, altered or expired (or the file is gone)."""
    return file_urls.signed_file(core.blobs(), core.settings, key, expires, sig, PREFIX)
