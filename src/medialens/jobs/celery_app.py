"""The worker side of ``MEDIALENS_EXECUTOR=celery``: the worker's Celery app, its tasks, and its recovery timer.

A message only says "job N is ready"; the database stays the source of truth. ``run_job`` claims the job with a
conditional UPDATE, so a duplicate or late message is a no-op, and only the claiming worker can write the outcome.
Messages are acknowledged late (after the job), a worker that dies loses no message, and each worker process runs
the recovery scan (expired leases, jobs the broker lost) on a timer, so no Celery beat is needed.

Run a worker with ``medialens worker`` (or ``celery -A medialens.jobs.celery_app worker -P threads``).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from itertools import count

from celery import signals

from medialens.blobs import open_blob_store
from medialens.config import Settings, get_settings
from medialens.jobs.broker import SYNC_TASK_NAME, TASK_NAME, make_celery
from medialens.jobs.celery_recovery import recovery_scan
from medialens.jobs.publisher import Publisher
from medialens.jobs.runner import run_job
from medialens.jobs.sync_calls import answer
from medialens.store.db import Database

log = logging.getLogger(__name__)

app = make_celery(get_settings())

# --- worker process state ----------------------------------------------------------------------------------------
_state_lock = threading.Lock()
_db: Database | None = None
_thread_ids = threading.local()
_thread_counter = count()


def worker_db() -> Database:
    """This process' database (one engine and pool per worker process, shared by its threads)."""
    global _db
    with _state_lock:
        if _db is None:
            settings = get_settings()
            db = Database(settings.resolved_database_url)
            _migrate(db)
            _db = db
        return _db


def _migrate(db: Database, tries: int = 5) -> None:
    # Several workers (and the API) may start at once on a fresh database; a losing migration just retries.
    for attempt in range(tries):
        try:
            db.migrate()
            return
        except Exception:
            if attempt == tries - 1:
                raise
            log.warning("migration raced another process; retrying", exc_info=True)
            time.sleep(0.5 + attempt)


def worker_id() -> str:
    """``host:pid:n``, the form the recovery scan uses to tell a dead local process from a live one."""
    n = getattr(_thread_ids, "n", None)
    if n is None:
        n = _thread_ids.n = next(_thread_counter)
    return f"{socket.gethostname()}:{os.getpid()}:{n}"


@app.task(name=TASK_NAME, ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def run_job_task(job_id: int) -> bool:
    """Run job ``job_id`` if it is still waiting; a no-op for a duplicate message."""
    return run_job(worker_db(), get_settings(), int(job_id), worker_id())


@app.task(name=SYNC_TASK_NAME, ignore_result=True, acks_late=False, reject_on_worker_lost=False)
def run_sync_task(reply_key: str, task: str, inputs: dict) -> None:
    """Answer a synchronous request (see ``sync_calls``): acknowledged on receipt, never run twice."""
    answer(get_settings(), reply_key, task, inputs)


# --- recovery timer and worker registration ------------------------------------------------------------------
class RecoveryTimer(threading.Thread):
    """Runs the recovery scan every ``recovery_interval_s`` and keeps this worker's record in the blob store."""

    def __init__(self, settings: Settings, queues: list[str]) -> None:
        super().__init__(daemon=True, name="medialens-recovery")
        self.settings, self.queues = settings, queues
        self.stopped = threading.Event()
        self.name_in_store = f"workers/{socket.gethostname()}-{os.getpid()}.json"

    def run(self) -> None:
        publisher = Publisher(self.settings)
        first = True
        while not self.stopped.is_set():
            try:
                recovery_scan(worker_db(), self.settings, publisher, startup=first)
                first = False
            except Exception:
                log.warning("recovery scan failed; retrying", exc_info=True)
            self._register()
            self.stopped.wait(self.settings.recovery_interval_s)
        self._unregister()

    def _register(self) -> None:
        try:
            record = {
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "queues": self.queues,
                "seen": time.time(),
            }
            open_blob_store(self.settings).put_bytes(self.name_in_store, json.dumps(record).encode())
        except Exception:
            log.warning("could not write the worker record to the blob store", exc_info=True)

    def _unregister(self) -> None:
        try:
            open_blob_store(self.settings).delete(self.name_in_store)
        except Exception:
            log.debug("could not remove the worker record", exc_info=True)


_timer: RecoveryTimer | None = None


@signals.worker_ready.connect
def _start_recovery(sender=None, **_kwargs) -> None:
    global _timer
    queues = sorted(q.name for q in sender.app.amqp.queues.consume_from.values()) if sender is not None else []
    _timer = RecoveryTimer(get_settings(), queues)
    _timer.start()


@signals.worker_shutdown.connect
def _stop_recovery(**_kwargs) -> None:
    if _timer is not None:
        _timer.stopped.set()
        _timer.join(timeout=5)
