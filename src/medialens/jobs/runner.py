"""Run one job: claim it, keep its lease alive, run its task, write the outcome exactly once.

Whatever the task raises, the job ends in state 3 with a message a client can read, and the worker lives on.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from medialens.blobs import open_blob_store
from medialens.config import Settings
from medialens.media.errors import MediaError
from medialens.models.errors import ModelNotInstalledError
from medialens.observability.metrics import record_job_outcome
from medialens.store import jobs as job_store
from medialens.store.db import Database
from medialens.store.tables import JobState
from medialens.tasks import TaskContext, get_task, result_payload
from medialens.tasks.base import JobCancelled, UnprocessableError

log = logging.getLogger(__name__)


def stored_result(result: Any) -> dict[str, Any]:
    """The protocol-neutral payload of the analysis' dataclass, as the store will hand it back: round-tripped
    through JSON here, so a result that cannot be stored fails its job instead of the write of its outcome."""
    return json.loads(json.dumps(result_payload(result), ensure_ascii=False))


def failure_message(err: BaseException) -> str:
    """A short, client-safe message for a failed job (no traceback, no internals)."""
    if isinstance(err, MediaError | UnprocessableError):
        return str(err)
    if isinstance(err, ModelNotInstalledError):
        return "model not found"
    return f"analysis failed: {type(err).__name__}: {err}"[:500]


class _Heartbeat(threading.Thread):
    """Renews the job's lease while it runs, so only a dead worker's jobs get requeued, writes its progress
    messages, and notices when the job is cancelled.

    A message is written after ``REPORT_DELAY_S``, together with a lease renewal, and only the latest of several:
    the job's thread never waits on the database to report progress, and a short job's messages (superseded by its
    outcome) cost no write at all. Every ``CANCEL_POLL_S`` (or at a renewal that finds the job no longer ours) it
    looks whether the job is still this worker's; once it is not, the next ``report`` raises ``JobCancelled``.
    """

    REPORT_DELAY_S = 0.5
    CANCEL_POLL_S = 1.0

    def __init__(self, db: Database, job_id: int, worker: str, lease_s: float) -> None:
        super().__init__(daemon=True, name=f"lease-{job_id}")
        self.db, self.job_id, self.worker, self.lease_s = db, job_id, worker, lease_s
        self.stopped = threading.Event()
        self.cancelled = threading.Event()
        self._reported = threading.Event()
        self._lock = threading.Lock()
        self._message: str | None = None

    def stop(self) -> None:
        self.stopped.set()
        self._reported.set()  # wake the loop now

    def report(self, message: str) -> None:
        if self.cancelled.is_set():
            raise JobCancelled(f"job {self.job_id} was cancelled")
        with self._lock:
            self._message = message
        self._reported.set()

    def run(self) -> None:
        now = time.monotonic()
        next_renewal, next_check = now + self.lease_s / 3, now + self.CANCEL_POLL_S
        while not self.stopped.is_set():
            reported = self._reported.wait(max(0.0, min(next_renewal, next_check) - time.monotonic()))
            if reported and self.stopped.wait(self.REPORT_DELAY_S):
                return  # finished meanwhile: the outcome's message supersedes the progress
            if self.stopped.is_set():
                return
            now = time.monotonic()
            renewing = reported or now >= next_renewal
            next_check = now + self.CANCEL_POLL_S
            try:
                if renewing:
                    self._reported.clear()
                    next_renewal = now + self.lease_s / 3
                    with self._lock:
                        message, self._message = self._message, None
                    held = job_store.renew_lease(self.db, self.job_id, self.worker, self.lease_s, message)
                else:
                    held = job_store.holds_job(self.db, self.job_id, self.worker)
            except Exception:  # a DB hiccup must not kill the job; the next beat retries
                log.warning("lease renewal failed for job %s", self.job_id, exc_info=True)
                continue
            if not held and not self.stopped.is_set():
                self.cancelled.set()
                return


def run_job(db: Database, settings: Settings, job_id: int, worker: str) -> bool:
    """Claim and run a job; False when another worker had already claimed it."""
    job = job_store.claim_job(db, job_id, worker, settings.job_lease_s)
    if job is None:
        return False
    started = time.monotonic()
    beat = _Heartbeat(db, job_id, worker, settings.job_lease_s)
    beat.start()
    workdir = Path(tempfile.mkdtemp(prefix=f"job-{job_id}-", dir=settings.scratch_dir))
    ctx = TaskContext(
        settings=settings,
        workdir=workdir,
        report=beat.report,
        job_id=job_id,
        attempt=job.attempts,
    )
    try:
        result = get_task(job.task).run(ctx, job.inputs)
        outcome = dict(state=JobState.COMPLETED, message="success", result=stored_result(result))
    except JobCancelled:  # the job already ended ("cancelled"); its worker goes on to the next one
        log.info("job %s (%s) cancelled after %.1f s", job_id, job.task, time.monotonic() - started)
        _drop_staged_media(settings, job_id, ctx.staged)
        return True
    except Exception as err:  # every failure ends the job, never the worker
        if not isinstance(err, MediaError | ModelNotInstalledError | UnprocessableError):
            log.exception("job %s (%s) failed", job_id, job.task)
        outcome = dict(state=JobState.FAILED, message=failure_message(err), result=None)
    finally:
        beat.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    if job_store.finish_job(db, job_id, worker, **outcome):
        record_job_outcome(job.task, outcome["state"], time.monotonic() - started)
        _drop_staged_media(settings, job_id, ctx.staged)
    elif ctx.outputs and _cancelled(db, job_id):
        _drop_staged_media(settings, job_id, ctx.outputs)
    return True


def _cancelled(db: Database, job_id: int) -> bool:
    """Cancelled (or deleted) while running; not merely lost to another worker, who may be writing the same keys."""
    job = job_store.get_job(db, job_id)
    return job is None or (job.state == JobState.FAILED and job.message == job_store.CANCELLED)


def _drop_staged_media(settings: Settings, job_id: int, keys: list[str]) -> None:
    """A finished job's staged downloads are no longer needed by any retry."""
    if not keys:
        return
    try:
        store = open_blob_store(settings)
        for key in keys:
            store.delete(key)
    except Exception:  # cleanup must never fail a finished job
        log.warning("could not remove staged media of job %s", job_id, exc_info=True)
