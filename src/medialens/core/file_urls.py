"""Expiring signed URLs of stored files (VOD covers, Model Hub clips): ``expires`` (a Unix time) and ``sig``, the
HMAC-SHA256 of ``"{key}\\n{expires}"`` under a key derived from the server key (``<data_dir>/server.key``), so
links survive a restart and every API process of a deployment signs alike. Each protocol serves the prefixes it
owns (``vod/``, ``hub/``) and answers a forged, altered or expired link as it answers a refused request."""

from __future__ import annotations

import hashlib
import hmac
import time

from medialens.blobs import BlobStore
from medialens.config import Settings
from medialens.core import keys


def _url_key(settings: Settings) -> bytes:
    keys._fernet(settings)  # makes the server key on first use
    return hashlib.sha256(b"file-urls:" + keys.server_key_path(settings).read_bytes()).digest()


def signature(settings: Settings, key: str, expires: int) -> str:
    return hmac.new(_url_key(settings), f"{key}\n{expires}".encode(), hashlib.sha256).hexdigest()


def signed_query(settings: Settings, key: str, ttl_s: int = 3600, now: float | None = None) -> str:
    """``expires=...&sig=...`` for the file ``key``."""
    expires = int(now if now is not None else time.time()) + ttl_s
    return f"expires={expires}&sig={signature(settings, key, expires)}"


def valid(settings: Settings, key: str, expires: str, sig: str, prefix: str) -> bool:
    """Whether the link is ours, for a key under ``prefix``, and not expired."""
    if not key.startswith(prefix) or ".." in key.split("/"):
        return False
    if not (expires.isascii() and expires.isdigit()) or int(expires) < time.time():
        return False
    return hmac.compare_digest(signature(settings, key, int(expires)), sig)


def signed_file(store: BlobStore, settings: Settings, key: str, expires: str, sig: str, prefix: str) -> bytes | None:
    """The file's bytes when the link is valid and the file exists, else None."""
    if not valid(settings, key, expires, sig, prefix):
        return None
    return store.get_bytes(key) if store.exists(key) else None
