"""Recovery of jobs whose worker died, shared by both executors (the in-process pool and Celery workers).

A running job holds a lease its worker renews. One recovery pass:

* ends at once the leases of workers of this host whose process no longer exists (no need to wait for the lease);
* ends the lease of running jobs past ``job_timeout_s``, even while their worker still beats;
* puts jobs whose lease ran out back in state 0, or fails them with a message once their worker stopped
  ``job_max_attempts`` times or the job is past its deadline;
* removes staged media of jobs that ended without their worker cleaning up;
* removes expired Model Hub clips, at most every ``hub_clip_sweep_s`` (the first pass of a process does).

The caller hands the requeued jobs to its workers (a thread queue, or the broker). Every change is a conditional
UPDATE, so several processes may recover at once without running or failing a job twice.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from datetime import datetime

from medialens.blobs import open_blob_store
from medialens.config import Settings
from medialens.store import jobs as job_store
from medialens.store.db import Database
from medialens.store.tables import utcnow
from medialens.tasks.hub_clips import sweep_clips
from medialens.tasks.intake import staged_media_job

log = logging.getLogger(__name__)


def scan(db: Database, settings: Settings, *, host: str | None = None, now: datetime | None = None) -> list[int]:
    """One recovery pass (see the module's docstring); returns the ids put back in state 0."""
    dead = dead_local_workers(job_store.running_workers(db), host or socket.gethostname())
    job_store.expire_leases_of(db, dead)
    job_store.expire_overdue(db, settings.job_timeout_s, now)
    requeued = recover_lost(db, max_attempts=settings.job_max_attempts, deadline_s=settings.job_timeout_s, now=now)
    try:
        sweep_staged_media(db, settings)
    except Exception:  # a store hiccup must not stop recovery; the next pass sweeps
        log.warning("could not sweep staged media", exc_info=True)
    sweep_hub_clips(settings)
    return requeued


_last_clip_sweep: float | None = None


def sweep_hub_clips(settings: Settings) -> int:
    """Expired Model Hub clips removed (``tasks.hub_video.sweep_clips``), unless this process did so less than
    ``hub_clip_sweep_s`` ago: listing an S3 prefix every few seconds would cost more than the clips."""
    global _last_clip_sweep
    if _last_clip_sweep is not None and time.monotonic() - _last_clip_sweep < settings.hub_clip_sweep_s:
        return 0
    _last_clip_sweep = time.monotonic()
    try:
        return sweep_clips(settings)
    except Exception:  # the next sweep tries again
        log.warning("could not remove expired Model Hub clips", exc_info=True)
        return 0


def recover_lost(db: Database, *, max_attempts: int, deadline_s: float, now: datetime | None = None) -> list[int]:
    """Requeue running jobs whose lease ran out; fail those out of attempts or past ``deadline_s``.

    Returns the ids put back in state 0, so the caller can hand them to its workers.
    """
    now = now or utcnow()
    requeued: list[int] = []
    for job in job_store.lost_jobs(db, now):
        too_old = (now - job.create_time).total_seconds() > deadline_s
        if too_old or job.attempts >= max_attempts:
            why = "job timed out" if too_old else f"job lost: its worker stopped {job.attempts} times"
            job_store.fail_lost(db, job.id, why, now)
        elif job_store.requeue_lost(db, job.id, now):
            requeued.append(job.id)
    return requeued


def dead_local_workers(workers: list[str], host: str) -> list[str]:
    """Worker ids (``host:pid:n``) of this host whose process no longer exists."""
    dead = []
    for w in workers:
        parts = w.split(":")
        if len(parts) == 3 and parts[0] == host and parts[1].isdigit() and not _pid_alive(int(parts[1])):
            dead.append(w)
    return dead


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def sweep_staged_media(db: Database, settings: Settings) -> int:
    """Remove staged downloads of jobs that ended without their worker removing them (failed by recovery after
    their worker died, or whose cleanup failed); returns how many were removed."""
    if not settings.blob_url:
        return 0
    store = open_blob_store(settings)
    staged = {job_id: key for key in store.list("jobs") if (job_id := staged_media_job(key)) is not None}
    if not staged:
        return 0
    unfinished = set(job_store.unfinished_ids(db, list(staged)))
    removed = 0
    for job_id, key in staged.items():
        if job_id not in unfinished:
            store.delete(key)
            removed += 1
    return removed
