"""Recovery for ``MEDIALENS_EXECUTOR=celery``, run by the API at start and by every worker on a timer.

On top of the shared pass (``recovery.scan``: lost leases, deadlines, staged media), it sends messages again:
for the jobs the pass put back in state 0, and for waiting jobs the broker lost (Redis restarted without
persistence, an API crashed between its commit and its publish), detected as waiting jobs whose queue is empty.
A duplicate message is harmless: the job is claimed with a conditional UPDATE from state 0.
"""

from __future__ import annotations

import logging
from typing import Protocol

from medialens.config import Settings
from medialens.jobs import recovery
from medialens.jobs.broker import queue_for
from medialens.store import jobs as job_store
from medialens.store.db import Database

log = logging.getLogger(__name__)

# A state-0 job younger than this is assumed to be on its way to the broker, not lost.
PUBLISH_GRACE_S = 2.0


class JobPublisher(Protocol):
    """What recovery needs of ``publisher.Publisher`` (tests pass a recording fake)."""

    def publish(self, items: list[tuple[int, str]]) -> int: ...

    def queue_depths(self) -> dict[str, int] | None: ...

    def recently_published(self, job_id: int) -> bool: ...


def recovery_scan(db: Database, settings: Settings, publisher: JobPublisher, *, startup: bool = False) -> list[int]:
    """One pass of recovery; returns the ids it published."""
    requeued = recovery.scan(db, settings)
    tasks = job_store.tasks_of(db, requeued)
    items = [(job_id, queue_for(tasks.get(job_id, ""))) for job_id in requeued]
    depths = publisher.queue_depths()
    if depths is not None:  # a broker that cannot be read says nothing about lost messages
        again = set(requeued)
        for job_id, task in job_store.waiting_jobs(db, older_than_s=0.0 if startup else PUBLISH_GRACE_S):
            queue = queue_for(task)
            if job_id in again or depths.get(queue, 0) > 0 or publisher.recently_published(job_id):
                continue
            items.append((job_id, queue))
    if items:
        log.info("recovery: publishing %d job(s)", len(items))
        publisher.publish(items)
    return [job_id for job_id, _ in items]
