"""Expiry of the clips the Model Hub video services write (``tasks.hub_video``): a clip's signed link expires
after ``hub_clip_ttl_s`` (``core.hub_files``), and so does the clip. Kept apart from the tasks themselves so the
recovery pass can sweep without importing the analyses."""

from __future__ import annotations

import time

from medialens.blobs import open_blob_store
from medialens.config import Settings

CLIP_PREFIXES = ("hub/clips", "hub/super_resolution")
"""Where the Model Hub video services write their clips (and nothing else)."""


def sweep_clips(settings: Settings, now: float | None = None) -> int:
    """Remove clips written more than ``hub_clip_ttl_s`` ago (their links have expired: nobody can fetch them);
    returns how many."""
    store = open_blob_store(settings)
    now = time.time() if now is None else now
    removed = 0
    for prefix in CLIP_PREFIXES:
        for key, written in store.modified(prefix).items():
            if now - written > settings.hub_clip_ttl_s:
                store.delete(key)
                removed += 1
    return removed
