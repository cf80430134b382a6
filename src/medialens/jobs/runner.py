"""Run one job: claim it, keep its lease alive, run its task, write the outcome exactly once.

Whatever the task raises, the job ends in state 3 with a message a client can read, and the worker lives on.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

from medialens.config import Settings
from medialens.media.errors import MediaError
from medialens.models.errors import ModelNotInstalledError
from medialens.observability.metrics import record_job_outcome
from medialens.storage import open_blob_store
from medialens.store import jobs as job_store
from medialens.store.db import Database
from medialens.store.tables import JobState
from medialens.tasks import TaskContext, get_task, result_payload
from medialens.tasks.base import UnprocessableError
from medialens.tasks.intake import staged_media_key

log = logging.getLogger(__name__)


def result_to_json(result: Any) -> str:
    """Stored results are protocol-neutral JSON of the analysis' dataclass."""
    return json.dumps(result_payload(result), ensure_ascii=False, separators=(",", ":"))


def failure_message(err: BaseException) -> str:
    """A short, client-safe message for a failed job (no traceback, no internals)."""
    if isinstance(err, MediaError | UnprocessableError):
        return str(err)
    if isinstance(err, ModelNotInstalledError):
        return "model not found"
    return f"analysis failed: {type(err).__name__}: {err}"[:500]


class _Heartbeat(threading.Thread):
    """Renews the job's lease while it runs, so only a dead worker's jobs get requeued."""

    def __init__(self, db: Database, job_id: int, worker: str, lease_s: float) -> None:
        super().__init__(daemon=True, name=f"lease-{job_id}")
        self.db, self.job_id, self.worker, self.lease_s = db, job_id, worker, lease_s
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.lease_s / 3):
            try:
                job_store.renew_lease(self.db, self.job_id, self.worker, self.lease_s)
            except Exception:  # a DB hiccup must not kill the job; the next beat retries
                log.warning("lease renewal failed for job %s", self.job_id, exc_info=True)


def run_job(db: Database, settings: Settings, job_id: int, worker: str) -> bool:
    """Claim and run a job; False when another worker had already claimed it."""
    job = job_store.claim_job(db, job_id, worker, settings.job_lease_s)
    if job is None:
        return False
    beat = _Heartbeat(db, job_id, worker, settings.job_lease_s)
    beat.start()
    workdir = Path(tempfile.mkdtemp(prefix=f"job-{job_id}-", dir=settings.scratch_dir))
    ctx = TaskContext(
        settings=settings, workdir=workdir, report=lambda m: job_store.set_message(db, job_id, worker, m), job_id=job_id
    )
    try:
        result = get_task(job.task).run(ctx, job.inputs)
        outcome = dict(state=JobState.COMPLETED, message="success", result=result_to_json(result))
    except Exception as err:  # every failure ends the job, never the worker
        if not isinstance(err, MediaError | ModelNotInstalledError | UnprocessableError):
            log.exception("job %s (%s) failed", job_id, job.task)
        outcome = dict(state=JobState.FAILED, message=failure_message(err), result=None)
    finally:
        beat.stopped.set()
        shutil.rmtree(workdir, ignore_errors=True)
    if job_store.finish_job(db, job_id, worker, **outcome):
        record_job_outcome(job.task, outcome["state"])
        _drop_staged_media(settings, job_id)
    return True


def _drop_staged_media(settings: Settings, job_id: int) -> None:
    """A finished job's staged download is no longer needed by any retry."""
    if not settings.blob_url:
        return
    try:
        open_blob_store(settings).delete(staged_media_key(job_id))
    except Exception:  # cleanup must never fail a finished job
        log.warning("could not remove staged media of job %s", job_id, exc_info=True)
