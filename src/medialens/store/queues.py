"""EAS queue items: put, read, delete, move finished input items to their sink (``queue_tables``).

Every write is one transaction; the move of a finished item is claimed by deleting the input row (only one
process sees the delete succeed), so several API processes never sink a result twice.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from medialens.store.db import Database
from medialens.store.queue_tables import QueueCounter, QueueItem
from medialens.store.tables import App, Job, JobState, utcnow

OWNER_APP_ID = "modelhub-queues"
"""The app that owns queued requests' jobs (services belong to no app; jobs must belong to one)."""


@dataclass(frozen=True)
class NewItem:
    queue: str
    request_id: str
    data: bytes | None
    tags: dict[str, str] = field(default_factory=dict)
    job_id: int | None = None
    params: dict[str, Any] = field(default_factory=dict)
    message: str = ""


def ensure_owner(db: Database) -> str:
    """The owning app's id, created on first use."""
    with db.session() as s:
        if s.get(App, OWNER_APP_ID) is not None:
            return OWNER_APP_ID
    try:
        with db.session() as s:
            s.add(App(app_id=OWNER_APP_ID, name="Model Hub queues (internal)", token=secrets.token_hex(16)))
    except IntegrityError:  # another process made it first
        pass
    return OWNER_APP_ID


def _next_index(s: Session, queue: str) -> int:
    res = s.execute(
        update(QueueCounter)
        .where(QueueCounter.queue == queue)
        .values(last_index=QueueCounter.last_index + 1)
        .returning(QueueCounter.last_index)
    ).scalar()
    if res is not None:
        return int(res)
    s.add(QueueCounter(queue=queue, last_index=1))
    s.flush()  # a concurrent first put fails here with IntegrityError; the caller retries
    return 1


def put(db: Database, item: NewItem, attempts: int = 5) -> int:
    """Append ``item``; returns its index."""
    for attempt in range(attempts):
        try:
            with db.session() as s:
                index = _next_index(s, item.queue)
                s.add(_row(item, index))
                return index
        except IntegrityError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def _row(item: NewItem, index: int) -> QueueItem:
    return QueueItem(
        queue=item.queue,
        idx=index,
        request_id=item.request_id,
        tags=dict(item.tags),
        data=item.data,
        job_id=item.job_id,
        params=dict(item.params),
        message=item.message,
    )


def items(
    db: Database,
    queue: str,
    *,
    start: int = 0,
    limit: int = 1,
    request_id: str | None = None,
    indexes: list[int] | None = None,
) -> list[tuple[QueueItem, Job | None]]:
    """Items from index ``start`` on (oldest first), with their job where they link one."""
    with db.session() as s:
        q = (
            select(QueueItem, Job)
            .outerjoin(Job, Job.id == QueueItem.job_id)
            .where(QueueItem.queue == queue, QueueItem.idx >= start)
            .order_by(QueueItem.idx)
            .limit(limit)
        )
        if request_id is not None:
            q = q.where(QueueItem.request_id == request_id)
        if indexes is not None:
            q = q.where(QueueItem.idx.in_(indexes))
        return [(item, job) for item, job in s.execute(q).all()]


def _free(now: datetime) -> ColumnElement[bool]:
    """No live watcher holds the item."""
    return or_(QueueItem.consumer.is_(None), QueueItem.claimed_until < now)


def claim(
    db: Database, queue: str, consumer: str, *, start: int, limit: int, lease_s: float
) -> list[tuple[QueueItem, Job | None]]:
    """Claim for ``consumer`` up to ``limit`` items from ``start`` on that no live watcher holds (oldest first);
    returns those it got. Each row's claim is conditional, so two watchers never get the same item."""
    if limit <= 0:
        return []
    now = utcnow()
    with db.session() as s:
        ids = list(
            s.scalars(
                select(QueueItem.id)
                .where(QueueItem.queue == queue, QueueItem.idx >= start, _free(now))
                .order_by(QueueItem.idx)
                .limit(limit)
            )
        )
        if not ids:
            return []
        s.execute(
            update(QueueItem)
            .where(QueueItem.id.in_(ids), _free(now))
            .values(consumer=consumer, claimed_until=now + timedelta(seconds=lease_s))
            .execution_options(synchronize_session=False)
        )
    return held(db, queue, consumer, ids=ids)


def held(
    db: Database, queue: str, consumer: str, *, ids: list[int] | None = None
) -> list[tuple[QueueItem, Job | None]]:
    """The items ``consumer`` holds (sent, not committed, claim not lapsed), oldest first."""
    with db.session() as s:
        q = (
            select(QueueItem, Job)
            .outerjoin(Job, Job.id == QueueItem.job_id)
            .where(QueueItem.queue == queue, QueueItem.consumer == consumer, QueueItem.claimed_until >= utcnow())
            .order_by(QueueItem.idx)
        )
        if ids is not None:
            q = q.where(QueueItem.id.in_(ids))
        return [(item, job) for item, job in s.execute(q).all()]


def renew(db: Database, queue: str, consumer: str, lease_s: float) -> None:
    """Keep a live watcher's claims."""
    with db.session() as s:
        s.execute(
            update(QueueItem)
            .where(QueueItem.queue == queue, QueueItem.consumer == consumer)
            .values(claimed_until=utcnow() + timedelta(seconds=lease_s))
            .execution_options(synchronize_session=False)
        )


def release(db: Database, queue: str, consumer: str) -> int:
    """A watcher went away: what it was sent and did not commit can be delivered again."""
    with db.session() as s:
        res = s.execute(
            update(QueueItem)
            .where(QueueItem.queue == queue, QueueItem.consumer == consumer)
            .values(consumer=None, claimed_until=None)
            .execution_options(synchronize_session=False)
        )
        return res.rowcount or 0


def job_ids(db: Database, queue: str, *, indexes: list[int] | None = None, before: int | None = None) -> list[int]:
    """The jobs linked by the items at ``indexes`` (or below ``before``)."""
    with db.session() as s:
        q = select(QueueItem.job_id).where(QueueItem.queue == queue, QueueItem.job_id.is_not(None))
        q = q.where(QueueItem.idx.in_(indexes or [])) if before is None else q.where(QueueItem.idx < before)
        return [int(j) for j in s.scalars(q)]


def remove(db: Database, queue: str, indexes: list[int]) -> int:
    """Delete the items at ``indexes``; returns how many there were."""
    if not indexes:
        return 0
    with db.session() as s:
        res = s.execute(
            delete(QueueItem)
            .where(QueueItem.queue == queue, QueueItem.idx.in_(indexes))
            .execution_options(synchronize_session=False)
        )
        return res.rowcount or 0


def truncate(db: Database, queue: str, before: int) -> int:
    """Delete every item whose index is below ``before``."""
    with db.session() as s:
        res = s.execute(
            delete(QueueItem)
            .where(QueueItem.queue == queue, QueueItem.idx < before)
            .execution_options(synchronize_session=False)
        )
        return res.rowcount or 0


def stats(db: Database, queue: str) -> tuple[int, int | None, int | None, int]:
    """(items, first index, last index, last index ever given) of ``queue``."""
    with db.session() as s:
        n, first, last = s.execute(
            select(func.count(), func.min(QueueItem.idx), func.max(QueueItem.idx)).where(QueueItem.queue == queue)
        ).one()
        counter = s.get(QueueCounter, queue)
        return int(n or 0), first, last, counter.last_index if counter is not None else 0


def count_before(db: Database, queue: str, index: int) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).where(QueueItem.queue == queue, QueueItem.idx < index)) or 0)


def finished_inputs(db: Database, queue: str, limit: int = 100) -> list[QueueItem]:
    """Input items whose job has finished (completed or failed), or that failed before they got one (a request
    the service cannot read: no job, a message), oldest first."""
    refused = and_(QueueItem.job_id.is_(None), QueueItem.message != "")
    with db.session() as s:
        q = (
            select(QueueItem)
            .outerjoin(Job, Job.id == QueueItem.job_id)
            .where(QueueItem.queue == queue, or_(Job.state.in_(JobState.FINISHED), refused))
            .order_by(QueueItem.idx)
            .limit(limit)
        )
        return list(s.scalars(q))


def move(db: Database, item: QueueItem, sink: str, tags: dict[str, str]) -> int | None:
    """Move a finished input item to ``sink`` (one transaction); None when another process moved it first."""
    try:
        with db.session() as s:
            gone = s.execute(
                delete(QueueItem).where(QueueItem.id == item.id).execution_options(synchronize_session=False)
            ).rowcount
            if gone != 1:
                return None
            index = _next_index(s, sink)
            new = NewItem(sink, item.request_id, None, tags, item.job_id, item.params, item.message)
            s.add(_row(new, index))
            return index
    except IntegrityError:  # a concurrent first index of the sink: the next settle moves it
        return None
