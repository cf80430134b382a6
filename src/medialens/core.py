"""The core the protocols talk to: submit jobs, run synchronous tasks, read jobs back.

Protocol adapters translate their wire requests into these calls and format what comes back; nothing here knows
a wire format.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medialens.config import Settings
from medialens.jobs.executor import Executor
from medialens.store import jobs as job_store
from medialens.store.db import Database
from medialens.store.tables import Job
from medialens.tasks import TaskContext, get_task, task_available


@dataclass(frozen=True)
class JobRequest:
    task: str
    inputs: dict[str, Any]
    object_url: str | None = None


class Core:
    def __init__(self, settings: Settings, db: Database, executor: Executor | None) -> None:
        self.settings, self.db, self.executor = settings, db, executor

    def available(self, task: str) -> bool:
        """Whether a task exists and its models are installed (else protocols answer "model not found")."""
        return task_available(task, self.settings)

    def submit(self, app_id: str, requests: list[JobRequest], *, batch: bool = False) -> tuple[int | None, list[int]]:
        new = [job_store.NewJob(r.task, r.inputs, r.object_url) for r in requests]
        batch_id, ids = job_store.create_jobs(self.db, app_id, new, batch=batch)
        if self.executor is not None:
            self.executor.notify(ids)
        return batch_id, ids

    def run_now(self, task: str, inputs: dict[str, Any]) -> Any:
        """Run a task synchronously (image requests); raises what the task raises."""
        workdir = Path(tempfile.mkdtemp(prefix="sync-", dir=self.settings.scratch_dir))
        try:
            return get_task(task).run(TaskContext(settings=self.settings, workdir=workdir), inputs)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def job(self, job_id: int, app_id: str) -> Job | None:
        return job_store.get_job(self.db, job_id, app_id)

    def batch(self, batch_id: int, app_id: str) -> list[Job] | None:
        return job_store.get_batch_jobs(self.db, batch_id, app_id)
