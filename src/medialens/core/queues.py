"""Asynchronous inference through the EAS queue service (WIRE.md §D.2): every Model Hub service ``svc`` has an
input queue ``svc`` and a sink ``svc/sink``.

A request put into an input queue becomes a durable core job at once (``Core.submit``: the same job store,
executors and recovery as every other job, so it survives a restart and a killed worker). Its queue item links
the job; once the job has finished, the item moves to the sink (``settle``, done by whoever reads the service's
queues next: a reader only ever sees the sink through a read, so no background thread is needed). The sink item
keeps the job's link, so the protocol formats the answer when it is read. A request the service cannot even read
is queued already failed, and moves to the sink with its message.

Items are rows in the database (``store/queue_tables.py``); indexes grow per queue and are never reused.
``commit`` and ``delete`` both remove items (a commit acknowledges them; EAS then drops them too).
"""

from __future__ import annotations

import asyncio
import base64
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from medialens.core.errors import CoreError
from medialens.core.service import Core, JobRequest, Media
from medialens.core.views import JobView, job_view
from medialens.store import queues as queue_store
from medialens.store.queue_tables import QueueItem
from medialens.store.tables import Job, JobState
from medialens.tasks.options import TaskOptions

SINK = "/sink"
POLL_S = 0.2
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
        self, queue: str, *, start: int = 0, window: int = 1, auto_commit: bool = False
    ) -> AsyncIterator[QueueEntry]:
        """Every item from ``start`` on, as it comes, oldest first, with at most ``window`` sent and not yet
        committed (deleted) at a time; ``auto_commit`` deletes each item once the caller has taken it."""
        window = max(1, window)
        pending: set[int] = set()
        next_start = start
        while True:
            if pending:  # which of the items sent are still there (not committed)
                rows = await asyncio.to_thread(
                    queue_store.items, self.db, queue, limit=len(pending), indexes=sorted(pending)
                )
                pending = {i.idx for i, _ in rows}
            room = window - len(pending)
            batch = []
            if room > 0:
                batch = await asyncio.to_thread(self.read, queue, start=next_start, length=room)
            for entry in batch:
                yield entry
                next_start = entry.index + 1
                if auto_commit:  # shielded: the caller may go away right after it sent the item
                    await asyncio.shield(asyncio.to_thread(queue_store.remove, self.db, queue, [entry.index]))
                else:
                    pending.add(entry.index)
            if not batch:
                await asyncio.sleep(POLL_S)

    # --- removing ------------------------------------------------------------------------------------------------
    def delete(self, queue: str, indexes: list[int]) -> int:
        return queue_store.remove(self.db, queue, indexes)

    def commit(self, queue: str, indexes: list[int]) -> int:
        return queue_store.remove(self.db, queue, indexes)

    def truncate(self, queue: str, before: int) -> int:
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
        """Where one item stands: its request id, tags, the state of its job, and how many items are before it."""
        self.settle(service_of(queue)[0])
        rows = queue_store.items(self.db, queue, start=index, limit=1, indexes=[index])
        if not rows:
            return None
        entry = _entry(*rows[0])
        state = "done"
        if entry.job is not None and entry.job.state not in JobState.FINISHED:
            state = entry.job.state_name
        elif entry.job is None and not service_of(queue)[1]:
            state = "failed" if entry.message else "waiting"
        return {
            "index": entry.index,
            "requestId": entry.request_id,
            "tags": entry.tags,
            "state": state,
            "waitHeadCount": queue_store.count_before(self.db, queue, index),
        }
