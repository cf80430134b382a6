"""The fingerprint libraries of one worker process, in memory: one ``FingerprintIndex`` per account.

A DNA job matches its medium against the whole account library. Reading every fingerprint from the database for
each job costs as much as the library is large, so each process loads an account's library once and then, before
each query, brings it up to date with one light query (media id and stamp of every fingerprint, no vectors): only
new or replaced fingerprints are read, deleted ones dropped. What other processes change (DNA deleted by the API
process, fingerprints added by other workers, media deleted) is thus seen at the next query of any worker.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime

from medialens.analyses import fingerprint as fp
from medialens.store import vod as vod_store
from medialens.store.db import Database
from medialens.store.vod_tables import Fingerprint as FingerprintRow


@dataclass
class _Library:
    index: fp.FingerprintIndex = field(default_factory=fp.FingerprintIndex)
    stamps: dict[str, datetime] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


_libraries: dict[tuple[str, str], _Library] = {}
_guard = threading.Lock()


def _library(db: Database, account: str) -> _Library:
    with _guard:
        return _libraries.setdefault((db.url, account), _Library())


def _sync(db: Database, account: str, lib: _Library) -> None:
    """Make ``lib`` hold exactly the store's fingerprints of ``account`` made with this version's recipe
    (``fp.METHOD``; others are not comparable, see ``stale``) (caller holds ``lib.lock``)."""
    stamps = vod_store.fingerprint_stamps(db, account, fp.METHOD)
    for gone in [m for m in lib.stamps if m not in stamps]:
        lib.index.remove(gone)
        del lib.stamps[gone]
    changed = [m for m, stamp in stamps.items() if lib.stamps.get(m) != stamp]
    for start in range(0, len(changed), 500):
        for row in vod_store.fingerprints(db, account, media_ids=changed[start : start + 500]):
            lib.index.add(row.media_id, fp.Fingerprint.from_bytes(row.vectors, row.fps, row.dim, row.views))
            lib.stamps[row.media_id] = stamps[row.media_id]


def matches(db: Database, account: str, query: fp.Fingerprint, exclude: str) -> list[tuple[str, fp.Match]]:
    """The account's fingerprints ``query`` copies (``exclude`` left out: the medium itself), best first."""
    lib = _library(db, account)
    with lib.lock:
        _sync(db, account, lib)
        return lib.index.query(query, exclude=exclude)


def stale(db: Database, account: str) -> int:
    """How many of the account's fingerprints an earlier recipe made: matching leaves them out until their media
    are fingerprinted again (a new AIMediaDNA job on each)."""
    return vod_store.stale_fingerprints(db, account, fp.METHOD)


def put(db: Database, account: str, media_id: str, fpr: fp.Fingerprint) -> None:
    """Store a medium's fingerprint; every process's library picks it up at its next query."""
    vod_store.put_fingerprint(
        db,
        FingerprintRow(
            app_id=account,
            media_id=media_id,
            fps=fpr.fps,
            dim=fp.DIM,
            views=fpr.vectors.shape[1],
            method=fp.METHOD,
            vectors=fpr.to_bytes(),
        ),
    )


def loaded(db: Database, account: str) -> int:
    """How many fingerprints this process holds for ``account`` (for tests)."""
    return len(_library(db, account).index)
