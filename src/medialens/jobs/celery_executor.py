"""``MEDIALENS_EXECUTOR=celery``: the API publishes "job N is ready" to a per-kind queue; workers run it.

Queues per kind of work (image, video, index, gpu) keep long videos from starving image jobs: each worker
consumes the queues it is told to, and a deployment sizes each pool on its own.

Recovery (run by the API at start and by every worker on a timer):

* a running job whose lease ran out (its worker died) goes back to state 0 and is published again, or fails
  with a message once out of attempts or past ``job_timeout_s``; a running job past its deadline is failed even
  when its worker still beats;
* jobs in state 0 that the broker lost (Redis restarted without persistence, an API crashed between its commit
  and its publish) are published again when their queue is empty.

Duplicate messages are harmless: ``run_job`` claims a job with a conditional UPDATE from state 0, so the second
message finds it taken and returns at once.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, select, update

from medialens.config import Settings
from medialens.jobs.local import dead_local_workers
from medialens.jobs.runner import sweep_staged_media
from medialens.store import jobs as job_store
from medialens.store.db import Database
from medialens.store.tables import Job, JobState, utcnow

log = logging.getLogger(__name__)

# A state-0 job younger than this is assumed to be on its way to the broker, not lost.
PUBLISH_GRACE_S = 2.0
# A process does not publish the same lost job again sooner than this.
REPUBLISH_AFTER_S = 30.0


def queue_for(task: str) -> str:
    """The queue a task's jobs go to: its ``queue`` if it names one, else its ``media_kind``; else ``video``."""
    from medialens.jobs.celery_app import QUEUES
    from medialens.tasks import get_task

    try:
        spec = get_task(task)
    except KeyError:
        return "video"
    kind = getattr(spec, "queue", None) or spec.media_kind
    return kind if kind in QUEUES else "video"


class Publisher:
    """Sends job messages; tolerant of a broker that is down (the jobs are in the store; recovery resends)."""

    def __init__(self, settings: Settings) -> None:
        from medialens.jobs.celery_app import TASK_NAME, make_celery

        self.settings = settings
        self.app = make_celery(settings)
        self.task_name = TASK_NAME
        self._recent: dict[int, float] = {}
        self._lock = threading.Lock()

    def publish(self, items: list[tuple[int, str]]) -> int:
        """Send ``(job_id, queue)`` messages; returns how many went out."""
        sent = 0
        now = time.monotonic()
        try:
            with self.app.producer_or_acquire() as producer:
                # Declare the queues' bindings every time: a broker restarted without persistence forgets them,
                # and a message routed through a missing binding is silently dropped.
                self._declare(producer.channel, {queue for _, queue in items})
                for job_id, queue in items:
                    self.app.send_task(
                        self.task_name,
                        args=[job_id],
                        queue=queue,
                        routing_key=queue,
                        producer=producer,
                        retry=True,
                        retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5},
                    )
                    sent += 1
                    with self._lock:
                        self._recent[job_id] = now
        except Exception:
            log.warning("broker unavailable: %d of %d job messages sent; recovery will resend", sent, len(items))
        return sent

    def send(self, task_name: str, args: list, queue: str, **options) -> None:
        """Send one message of any task to ``queue`` (declared first, as ``publish`` does); raises when the
        broker is down."""
        with self.app.producer_or_acquire() as producer:
            self._declare(producer.channel, {queue})
            self.app.send_task(
                task_name,
                args=args,
                queue=queue,
                routing_key=queue,
                producer=producer,
                retry=True,
                retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5},
                **options,
            )

    def recently_published(self, job_id: int) -> bool:
        with self._lock:
            at = self._recent.get(job_id)
            if len(self._recent) > 100_000:
                cutoff = time.monotonic() - REPUBLISH_AFTER_S
                self._recent = {k: v for k, v in self._recent.items() if v > cutoff}
        return at is not None and time.monotonic() - at < REPUBLISH_AFTER_S

    def broker_reachable(self) -> bool:
        """For /readyz: the broker answered a queue declaration just now."""
        return self.publisher.queue_depths() is not None

    def queue_depths(self) -> dict[str, int] | None:
        """Messages waiting in each queue, or None when the broker cannot say (down)."""
        from medialens.jobs.celery_app import QUEUES

        try:
            with self.app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1)
                return self._declare(conn.default_channel, QUEUES)
        except Exception:
            log.debug("could not read queue depths", exc_info=True)
            return None

    def _declare(self, channel, names) -> dict[str, int]:
        """(Re)declare queues, exchanges and bindings; returns each queue's waiting messages."""
        depths = {}
        for name in names:
            queue = self.app.amqp.queues[name].bind(channel)
            queue.exchange.declare()
            _, depths[name], _ = queue.queue_declare()
            queue.queue_bind()
        return depths

    def close(self) -> None:
        self.app.close()


def _expire_overdue(db: Database, deadline_s: float) -> None:
    """End the lease of running jobs past the deadline, so recover_expired fails them with "job timed out"."""
    now = utcnow()
    with db.session() as s:
        s.execute(
            update(Job)
            .where(and_(Job.state == JobState.RUNNING, Job.create_time < now - timedelta(seconds=deadline_s)))
            .values(lease_until=now - timedelta(seconds=1))
            .execution_options(synchronize_session=False)
        )


def _pending(db: Database, older_than_s: float, limit: int = 5000) -> list[tuple[int, str]]:
    cutoff = utcnow() - timedelta(seconds=older_than_s)
    with db.session() as s:
        rows = s.execute(
            select(Job.id, Job.task)
            .where(and_(Job.state == JobState.INITIALIZING, Job.create_time < cutoff))
            .order_by(Job.id)
            .limit(limit)
        )
        return [(r.id, r.task) for r in rows]


def recovery_scan(db: Database, settings: Settings, publisher: Publisher, *, startup: bool = False) -> list[int]:
    """One pass of recovery; returns the ids it published."""
    # Jobs held by processes of this host that no longer exist need not wait for their lease.
    dead = dead_local_workers(job_store.running_workers(db), socket.gethostname())
    job_store.expire_leases_of(db, dead)
    _expire_overdue(db, settings.job_timeout_s)
    requeued = job_store.recover_expired(db, max_attempts=settings.job_max_attempts, deadline_s=settings.job_timeout_s)
    items = [(job_id, queue_for(_task_of(db, job_id))) for job_id in requeued]
    # Waiting jobs whose queue is empty were lost by the broker (or never reached it): send them again.
    depths = publisher.queue_depths()
    if depths is not None:
        again = set(requeued)
        for job_id, task in _pending(db, 0.0 if startup else PUBLISH_GRACE_S):
            queue = queue_for(task)
            if job_id in again or depths.get(queue, 0) > 0 or publisher.recently_published(job_id):
                continue
            items.append((job_id, queue))
    if items:
        log.info("recovery: publishing %d job(s)", len(items))
        publisher.publish(items)
    try:
        sweep_staged_media(db, settings)
    except Exception:  # a store hiccup must not stop recovery; the next scan sweeps
        log.warning("could not sweep staged media", exc_info=True)
    return [job_id for job_id, _ in items]


def _task_of(db: Database, job_id: int) -> str:
    with db.session() as s:
        return s.scalar(select(Job.task).where(Job.id == job_id)) or ""


class CeleryExecutor:
    """The API's side: publish new jobs; recover once at start (workers keep recovering on their timers)."""

    def __init__(self, db: Database, settings: Settings) -> None:
        from medialens.jobs.sync_calls import RemoteRunner, reply_url

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

    def run_sync(self, task: str, inputs: dict[str, Any]) -> Any:
        """On a worker of the task's queue when answers can travel back through Redis, else in this process."""
        from medialens.jobs.sync_calls import run_locally

        if self.remote is None:
            return run_locally(self.settings, task, inputs)
        return self.remote.run(task, inputs, queue_for(task))

    def start(self) -> None:
        try:
            recovery_scan(self.db, self.settings, self.publisher, startup=True)
        except Exception:  # a broker or store hiccup must not keep the API from starting
            log.warning("start-up recovery scan failed; workers will recover", exc_info=True)

    def notify(self, job_ids: list[int]) -> None:
        if not job_ids:
            return
        with self.db.session() as s:
            tasks = {r.id: r.task for r in s.execute(select(Job.id, Job.task).where(Job.id.in_(job_ids)))}
        self.publisher.publish([(job_id, queue_for(tasks.get(job_id, ""))) for job_id in job_ids])

    def stop(self) -> None:
        self.publisher.close()
