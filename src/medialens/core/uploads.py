"""Uploaded media in the shared blob store: what ``POST /v1/media`` and multipart job submissions keep, so a job
(run by this process or by any worker of a cluster) reads the file instead of a URL.

Keys are ``media/<owner>/<id>``: ``owner`` is a digest of the app id (path-safe whatever the id holds), ``id`` a
random hex name. Media kept for one job only (a multipart ``POST /v1/jobs``) get a ``tmp-`` id, and the job drops
them once it is finished (``tasks.intake``).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import BinaryIO

from medialens.blobs import BlobStore

PREFIX = "media"
_ID = re.compile(r"^(tmp-)?[0-9a-f]{32}$")


def owner_of(app_id: str) -> str:
    return hashlib.sha256(app_id.encode()).hexdigest()[:24]


def media_key(app_id: str, media_id: str) -> str | None:
    """The blob key of an app's media id, or None when the id is not one we hand out."""
    return f"{PREFIX}/{owner_of(app_id)}/{media_id}" if _ID.match(media_id) else None


def put_media(store: BlobStore, app_id: str, data: bytes | BinaryIO, *, temporary: bool = False) -> tuple[str, str]:
    """Keep ``data`` (bytes, or a file object copied in chunks); returns (media id, blob key)."""
    media_id = ("tmp-" if temporary else "") + secrets.token_hex(16)
    key = f"{PREFIX}/{owner_of(app_id)}/{media_id}"
    if isinstance(data, bytes):
        store.put_bytes(key, data)
    else:
        store.put_stream(key, data)
    return media_id, key
