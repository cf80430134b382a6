"""Sending messages to the Celery queues, from the API (new jobs, synchronous requests) and from workers (jobs
their recovery scan puts back).

A message only says "job N is ready"; the jobs table stays the source of truth, so a broker that is down loses
nothing: publishing logs and returns, and the next recovery scan sends the message again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from typing import Any

from medialens.config import Settings
from medialens.jobs.broker import QUEUES, TASK_NAME, make_celery

log = logging.getLogger(__name__)

# A process does not publish the same lost job again sooner than this.
REPUBLISH_AFTER_S = 30.0
_RETRY_POLICY = {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5}


class Publisher:
    """Sends job messages; tolerant of a broker that is down (the jobs are in the store; recovery resends)."""

    def __init__(self, settings: Settings) -> None:
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
                        retry_policy=_RETRY_POLICY,
                    )
                    sent += 1
                    with self._lock:
                        self._recent[job_id] = now
        except Exception:
            log.warning("broker unavailable: %d of %d job messages sent; recovery will resend", sent, len(items))
        return sent

    def send(self, task_name: str, args: list, queue: str, **options: Any) -> None:
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
                retry_policy=_RETRY_POLICY,
                **options,
            )

    def recently_published(self, job_id: int) -> bool:
        """Whether this process sent ``job_id`` within ``REPUBLISH_AFTER_S`` (so recovery need not resend it)."""
        with self._lock:
            at = self._recent.get(job_id)
            if len(self._recent) > 100_000:
                cutoff = time.monotonic() - REPUBLISH_AFTER_S
                self._recent = {k: v for k, v in self._recent.items() if v > cutoff}
        return at is not None and time.monotonic() - at < REPUBLISH_AFTER_S

    def queue_depths(self) -> dict[str, int] | None:
        """Messages waiting in each queue, or None when the broker cannot say (down)."""
        try:
            with self.app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1)
                return self._declare(conn.default_channel, QUEUES)
        except Exception:
            log.debug("could not read queue depths", exc_info=True)
            return None

    def _declare(self, channel: Any, names: Iterable[str]) -> dict[str, int]:
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
