"""The core the protocols talk to: submit jobs, run synchronous tasks, read jobs back.

Protocol adapters translate their wire requests into these calls and format what comes back; nothing here knows
a wire format.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from medialens.config import Settings
from medialens.jobs.executor import Executor
from medialens.jobs.sync_calls import run_locally
from medialens.store import jobs as job_store
from medialens.store.apps import get_app
from medialens.store.db import Database
from medialens.store.tables import Job
from medialens.tasks import task_available


@dataclass(frozen=True)
class JobRequest:
    task: str
    inputs: dict[str, Any]
    object_url: str | None = None


class _TTLCache:
    """A tiny thread-safe cache whose entries expire: hot lookups (credentials, model presence) skip the DB and
    the disk on every request, while a deleted app or a removed model is noticed within ``ttl_s``."""

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._items: dict[Any, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: Any, compute: Callable[[], Any]) -> Any:
        now = time.monotonic()
        with self._lock:
            hit = self._items.get(key)
            if hit is not None and now - hit[0] < self.ttl_s:
                return hit[1]
        value = compute()
        with self._lock:
            self._items[key] = (now, value)
        return value


class Core:
    CREDENTIAL_TTL_S = 5.0
    AVAILABILITY_TTL_S = 2.0

    def __init__(self, settings: Settings, db: Database, executor: Executor | None) -> None:
        self.settings, self.db, self.executor = settings, db, executor
        self._tokens = _TTLCache(self.CREDENTIAL_TTL_S)
        self._available = _TTLCache(self.AVAILABILITY_TTL_S)

    def available(self, task: str) -> bool:
        """Whether a task exists and its models are installed (else protocols answer "model not found")."""
        return self._available.get(task, lambda: task_available(task, self.settings))

    def app_token(self, app_id: str) -> str | None:
        """The token of an app, or None when there is no such app (cached for a few seconds)."""

        def lookup() -> str | None:
            app = get_app(self.db, app_id)
            return app.token if app else None

        return self._tokens.get(app_id, lookup)

    def submit(self, app_id: str, requests: list[JobRequest], *, batch: bool = False) -> tuple[int | None, list[int]]:
        new = [job_store.NewJob(r.task, r.inputs, r.object_url) for r in requests]
        batch_id, ids = job_store.create_jobs(self.db, app_id, new, batch=batch)
        if self.executor is not None:
            self.executor.notify(ids)
        return batch_id, ids

    def run_now(self, task: str, inputs: dict[str, Any]) -> Any:
        """Run a task synchronously (image requests) where the executor runs work; raises what the task raises."""
        if self.executor is None:
            return run_locally(self.settings, task, inputs)
        return self.executor.run_sync(task, inputs)

    def job(self, job_id: int, app_id: str) -> Job | None:
        return job_store.get_job(self.db, job_id, app_id)

    def batch(self, batch_id: int, app_id: str) -> list[Job] | None:
        return job_store.get_batch_jobs(self.db, batch_id, app_id)
