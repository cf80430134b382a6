"""Asynchronous inference through the EAS queue service (WIRE.md §D.2): every Model Hub service ``svc`` has an
input queue ``svc`` and a sink ``svc/sink``.

A request put into an input queue becomes a durable core job at once (``Core.submit``: the same job store,
executors and recovery as every other job, so it survives a restart and a killed worker). Its queue item links
the job; once the job has finished, the item moves to the sink (``settle``, done by whoever reads the service's
queues next: a reader only ever sees the sink through a read, so no background thread is needed). The sink item
keeps the job's link, so the protocol formats the answer when it is read. A request the service cannot even read
is queued already failed, and moves to the sink with its message.

Items are rows in the database (``store/queue_tables.py``); indexes grow per queue and are never reused.

Delivery follows the EAS clients (the Java SDK's commit: "confirm that the data has been consumed and then delete
the data"; the Go SDK's: "the data in queue will not be delivered again"; the Python SDK's own tests read
``stream.length`` 0 once every watched item is committed):
- ``get`` reads; an item stays until it is committed or deleted (or taken with ``_auto_delete_``).
- ``watch`` delivers each item to one watcher of the queue (the client's uid names it): the item is claimed, other
  watchers skip it, and at most ``window`` claimed items wait for a commit. A watcher that goes away without
  committing releases them (a dead process's claims lapse after ``LEASE_S``), so they are delivered again:
  at least once. ``_auto_commit_`` commits each item as it is sent.
- ``commit`` acknowledges items as consumed: they are dropped and never delivered again. ``delete`` drops items
  whether or not anyone was sent them. On an input queue either one (and ``truncate``) withdraws the request: its
  job is cancelled, so nothing of it reaches the sink.
"""

from __future__ import annotations

import asyncio
import base64
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from medialens.core.errors import CoreError
from medialens.core.service import Core, JobRequest, Media
from medialens.core.views import JobView, job_view
from medialens.store import queues as queue_store
from medialens.store.queue_tables import QueueItem
from medialens.store.tables import Job, JobState, utcnow
from medialens.tasks.options import TaskOptions

SINK = "/sink"
POLL_S = 0.2
LEASE_S = 30.0
"""How long a watcher's claim outlives its last renewal (a live watcher renews every third of it)."""
MAX_WAIT_S = 60.0
TAG_SCAN = 1000
"""Items read at most to find those whose tags match a ``get``'s tag filter."""


class QueueNotFound(CoreError):
    """The path names no queue (no such service)."""


@dataclass(frozen=True)
class QueueEntry:
    """One item: what was put (``data``), or for a sink item of a queued request, the job whose outcome it is
    (``job``: the protocol formats it, with ``params``, the request's own fields it kept)."""

    index: int
    request_id: str
    tags: dict[str, str]
    data: bytes | None
    message: str
    job: JobView | None
    params: dict[str, Any] = field(default_factory=dict)


def service_of(queue: str) -> tuple[str, bool]:
    """(service name, whether ``queue`` is its sink)."""
    return (queue[: -len(SINK)], True) if queue.endswith(SINK) else (queue, False)


def sink_of(service: str) -> str:
    return service + SINK


def _entry(item: QueueItem, job: Job | None) -> QueueEntry:
    return QueueEntry(
        index=item.idx,
        request_id=item.request_id,
        tags={str(k): str(v) for k, v in (item.tags or {}).items()},
        data=item.data,
        message=item.message or "",
        job=job_view(job) if job is not None else None,
        params=dict(item.params or {}),
    )


class Queues:
    """The queue service on top of a ``Core``: protocols use it as ``Queues(core)``; it keeps no state."""

    def __init__(self, core: Core) -> None:
        self.core, self.db = core, core.db

    # --- putting -------------------------------------------------------------------------------------------------
    def submit(
        self,
        service: str,
        task: str,
        data: bytes,
        tags: Mapping[str, str],
        media: Media,
        options: TaskOptions,
        params: Mapping[str, Any],
    ) -> tuple[int, str]:
        """Queue a request the service can read: a job runs it. Returns (index, request id)."""
        owner = queue_store.ensure_owner(self.db)
        request = JobRequest(
            task=task,
            options=options,
            url=media.url,
            text=media.text,
            images=tuple(base64.b64encode(d).decode("ascii") for d in media.more),
            data=media.data,
        )
        _, (job_id,) = self.core.submit(owner, [request])
        request_id = str(uuid.uuid4())
        item = queue_store.NewItem(service, request_id, data, dict(tags), job_id, dict(params))
        return queue_store.put(self.db, item), request_id

    def refuse(
        self, service: str, data: bytes, tags: Mapping[str, str], message: str, params: Mapping[str, Any]
    ) -> tuple[int, str]:
        """Queue a request the service cannot read: it reaches the sink failed with ``message``."""
        request_id = str(uuid.uuid4())
        item = queue_store.NewItem(service, request_id, data, dict(tags), None, dict(params), message or "failed")
        return queue_store.put(self.db, item), request_id

    def put(self, queue: str, data: bytes, tags: Mapping[str, str]) -> tuple[int, str]:
        """Put data as it is (a sink's own put: nothing runs it)."""
        request_id = str(uuid.uuid4())
        return queue_store.put(self.db, queue_store.NewItem(queue, request_id, data, dict(tags))), request_id

    # --- moving finished requests to the sink --------------------------------------------------------------------
    def settle(self, service: str) -> int:
        """Move the service's finished requests to its sink; returns how many this call moved."""
        moved = 0
        for item in queue_store.finished_inputs(self.db, service):
            tags = {**{str(k): str(v) for k, v in (item.tags or {}).items()}, "requestId": item.request_id}
            if queue_store.move(self.db, item, sink_of(service), tags) is not None:
                moved += 1
        return moved

    # --- reading -------------------------------------------------------------------------------------------------
    def read(
        self,
        queue: str,
        *,
        start: int = 0,
        length: int = 1,
        request_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        auto_delete: bool = False,
    ) -> list[QueueEntry]:
        """Up to ``length`` items from index ``start`` on (matching the request id and tags given), now."""
        self.settle(service_of(queue)[0])
        limit = TAG_SCAN if tags else length
        rows = queue_store.items(self.db, queue, start=start, limit=limit, request_id=request_id)
        found = [_entry(i, j) for i, j in rows if all(i.tags.get(k) == v for k, v in (tags or {}).items())][:length]
        if auto_delete and found:
            queue_store.remove(self.db, queue, [e.index for e in found])
        return found

    async def get(
        self,
        queue: str,
        *,
        start: int = 0,
        length: int = 1,
        request_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        auto_delete: bool = False,
        timeout_s: float = 0.0,
    ) -> list[QueueEntry]:
        """``read``, waiting up to ``timeout_s`` (at most ``MAX_WAIT_S``) for a first item to come."""
        deadline = time.monotonic() + min(max(timeout_s, 0.0), MAX_WAIT_S)
        while True:
            found = await asyncio.to_thread(
                self.read,
                queue,
                start=start,
                length=length,
                request_id=request_id,
                tags=tags,
                auto_delete=auto_delete,
            )
            if found or time.monotonic() + POLL_S > deadline:
                return found
            await asyncio.sleep(POLL_S)

    async def watch(
        self, queue: str, *, consumer: str, start: int = 0, window: int = 1, auto_commit: bool = False
    ) -> AsyncIterator[QueueEntry]:
        """Every item from ``start`` on that no other watcher holds, as it comes, oldest first: first what
        ``consumer`` was sent before and has not committed, then new items, at most ``window`` uncommitted at a
        time. ``auto_commit`` commits each item once the caller has taken it. Closing the stream releases what
        was not committed (close it: ``contextlib.aclosing``)."""
        window = max(1, window)
        renewed = time.monotonic()
        try:
            again = await asyncio.to_thread(queue_store.held, self.db, queue, consumer)
            for item, job in again:
                yield _entry(item, job)
            while True:
                await asyncio.to_thread(self.settle, service_of(queue)[0])
                held = await asyncio.to_thread(queue_store.held, self.db, queue, consumer)
                room = window - len(held)
                batch = await asyncio.to_thread(
                    queue_store.claim, self.db, queue, consumer, start=start, limit=room, lease_s=LEASE_S
                )
                for item, job in batch:
                    yield _entry(item, job)
                    if auto_commit:  # shielded: the caller may go away right after it sent the item
                        await asyncio.shield(asyncio.to_thread(queue_store.remove, self.db, queue, [item.idx]))
                if time.monotonic() - renewed > LEASE_S / 3:
                    await asyncio.to_thread(queue_store.renew, self.db, queue, consumer, LEASE_S)
                    renewed = time.monotonic()
                if not batch:
                    await asyncio.sleep(POLL_S)
        finally:  # no await here: the stream is closed from a cancelled task
            queue_store.release(self.db, queue, consumer)

    # --- removing ------------------------------------------------------------------------------------------------
    def _withdraw(self, queue: str, job_ids: list[int]) -> None:
        """An input item taken out of its queue: its request is no longer wanted, so its job is cancelled."""
        if service_of(queue)[1]:
            return
        for job_id in job_ids:
            self.core.cancel(job_id, queue_store.OWNER_APP_ID)

    def delete(self, queue: str, indexes: list[int]) -> int:
        """Drop items, sent to a watcher or not."""
        self._withdraw(queue, queue_store.job_ids(self.db, queue, indexes=indexes))
        return queue_store.remove(self.db, queue, indexes)

    def commit(self, queue: str, indexes: list[int]) -> int:
        """Acknowledge items as consumed: dropped, never delivered again (nor held by a watcher's window)."""
        self._withdraw(queue, queue_store.job_ids(self.db, queue, indexes=indexes))
        return queue_store.remove(self.db, queue, indexes)

    def truncate(self, queue: str, before: int) -> int:
        self._withdraw(queue, queue_store.job_ids(self.db, queue, before=before))
        return queue_store.truncate(self.db, queue, before)

    # --- describing ----------------------------------------------------------------------------------------------
    def attributes(self, queue: str) -> dict[str, str]:
        """What EAS reports of a queue (Redis stream attributes), values as strings."""
        service, is_sink = service_of(queue)
        self.settle(service)
        length, first, last, given = queue_store.stats(self.db, queue)
        out = {
            "meta.name": queue,
            "meta.type": "sink" if is_sink else "input",
            "stream.length": str(length),
            "stream.lastIndex": str(given),
        }
        if length:
            out |= {"stream.firstEntry": str(first), "stream.lastEntry": str(last)}
        return out

    def search(self, queue: str, index: int) -> dict[str, Any] | None:
        """Where one item stands, as EAS answers it: ``IsPending`` (being handled now: its job runs, or a watcher
        holds it), ``ConsumerId`` (who handles it: the worker, or the watcher's uid; "" when nobody) and
        ``WaitCount`` (items ahead of it; 0 when pending). None when the queue has no such item."""
        self.settle(service_of(queue)[0])
        rows = queue_store.items(self.db, queue, start=index, limit=1, indexes=[index])
        if not rows:
            return None
        item, job = rows[0]
        consumer = ""
        if job is not None and job.state == JobState.RUNNING and not service_of(queue)[1]:
            consumer = job.worker or ""
        elif item.consumer and item.claimed_until is not None and _aware(item.claimed_until) >= utcnow():
            consumer = item.consumer
        if consumer:
            return {"ConsumerId": consumer, "IsPending": True, "WaitCount": 0}
        return {"ConsumerId": "", "IsPending": False, "WaitCount": queue_store.count_before(self.db, queue, index)}


def _aware(at: datetime) -> datetime:
    """SQLite hands back naive datetimes (stored as UTC)."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
