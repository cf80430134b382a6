"""``MEDIALENS_EXECUTOR=celery``, the API's side: the API publishes "job N is ready" to a per-kind queue; workers
(``celery_app``) run it.

Queues per kind of work (image, video, index, gpu) keep long videos from starving image jobs: each worker
consumes the queues it is told to, and a deployment sizes each pool on its own. The API recovers once at start
(``celery_recovery``); workers keep recovering on their timers.
"""

from __future__ import annotations

import logging
from typing import Any

from medialens.config import Settings
from medialens.jobs.broker import queue_for
from medialens.jobs.celery_recovery import recovery_scan
from medialens.jobs.publisher import Publisher
from medialens.jobs.sync_calls import RemoteRunner, reply_url, run_locally
from medialens.store import jobs as job_store
from medialens.store.db import Database
from medialens.tasks.base import TaskInput

log = logging.getLogger(__name__)


class CeleryExecutor:
    """Publish new jobs to their queues; answer synchronous requests on the workers when replies can travel back."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db, self.settings = db, settings
        self.publisher = Publisher(settings)
        url = reply_url(settings)
        self.remote = RemoteRunner(settings, self.publisher, url) if url else None

    def broker_reachable(self) -> bool:
        """For /readyz: the broker answered a queue declaration just now."""
        return self.publisher.queue_depths() is not None

    def queue_depths(self) -> dict[str, int] | None:
        """Messages waiting in each queue (for /metrics), or None when the broker cannot say."""
        return self.publisher.queue_depths()

    def run_sync(self, task: str, inputs: TaskInput | dict[str, Any]) -> Any:
        """On a worker of the task's queue when answers can travel back through Redis, else in this process."""
        if self.remote is None:
            return run_locally(self.settings, task, inputs)
        return self.remote.run(task, inputs.portable() if isinstance(inputs, TaskInput) else inputs, queue_for(task))

    def start(self) -> None:
        try:
            recovery_scan(self.db, self.settings, self.publisher, startup=True)
        except Exception:  # a broker or store hiccup must not keep the API from starting
            log.warning("start-up recovery scan failed; workers will recover", exc_info=True)

    def notify(self, job_ids: list[int]) -> None:
        if not job_ids:
            return
        tasks = job_store.tasks_of(self.db, job_ids)
        self.publisher.publish([(job_id, queue_for(tasks.get(job_id, ""))) for job_id in job_ids])

    def stop(self) -> None:
        self.publisher.close()
