"""The default executor: a pool of worker threads in the serving process, sized to the cores.

Threads suit our work: decoding (PyAV), OpenCV, NumPy and ONNX Runtime release the GIL. New jobs arrive through
``notify``; a janitor also runs the shared recovery pass (``recovery``) and scans the store, so jobs written by
another process or left behind by a crash are picked up too.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
from typing import Any

from medialens.config import Settings
from medialens.jobs import recovery
from medialens.jobs.runner import run_job
from medialens.jobs.sync_calls import run_locally
from medialens.store import jobs as job_store
from medialens.store.db import Database
from medialens.tasks.base import TaskInput

log = logging.getLogger(__name__)


class LocalPoolExecutor:
    def __init__(self, db: Database, settings: Settings, size: int | None = None) -> None:
        self.db, self.settings = db, settings
        self.size = size or settings.worker_count
        self.host = socket.gethostname()
        self._queue: queue.Queue[int] = queue.Queue()
        self._queued: set[int] = set()
        self._queued_lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # --- Executor interface -------------------------------------------------------------------------------------
    def start(self) -> None:
        self._stop.clear()
        self._recover()
        for n in range(self.size):
            t = threading.Thread(target=self._work, args=(f"{self.host}:{os.getpid()}:{n}",), daemon=True)
            t.name = f"medialens-worker-{n}"
            t.start()
            self._threads.append(t)
        janitor = threading.Thread(target=self._janitor, daemon=True, name="medialens-janitor")
        janitor.start()
        self._threads.append(janitor)

    def run_sync(self, task: str, inputs: TaskInput | dict[str, Any]) -> Any:
        return run_locally(self.settings, task, inputs)

    def notify(self, job_ids: list[int]) -> None:
        with self._queued_lock:
            for job_id in job_ids:
                if job_id not in self._queued:
                    self._queued.add(job_id)
                    self._queue.put(job_id)

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=5)
        self._threads.clear()

    # --- internals --------------------------------------------------------------------------------------------------
    def _work(self, worker: str) -> None:
        while not self._stop.is_set():
            try:
                job_id = self._queue.get(timeout=self.settings.job_poll_interval_s)
            except queue.Empty:
                continue
            with self._queued_lock:
                self._queued.discard(job_id)
            try:
                run_job(self.db, self.settings, job_id, worker)
            except Exception:  # the store itself failed; keep the worker alive, the janitor will retry
                log.exception("worker %s could not run job %s", worker, job_id)

    def _janitor(self) -> None:
        while not self._stop.wait(max(1.0, self.settings.job_poll_interval_s * 10)):
            try:
                self._recover()
            except Exception:
                log.exception("job recovery scan failed")

    def _recover(self) -> None:
        """The shared recovery pass, then every waiting job to this pool (a requeued one, or one written by
        another process)."""
        recovery.scan(self.db, self.settings, host=self.host)
        self.notify(job_store.pending_job_ids(self.db, limit=1000))
