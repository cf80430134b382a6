"""Durable job records: create, claim, heartbeat, finish, and the queries recovery and metrics need.

Every state change is a conditional UPDATE on the job's current state and owner, so two workers (threads,
processes or machines) can never both run or both finish the same job.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select, update

from medialens.store.db import Database
from medialens.store.tables import Batch, Job, JobState, as_utc, utcnow


@dataclass(frozen=True)
class NewJob:
    task: str
    inputs: dict
    object_url: str | None = None


def create_jobs(db: Database, app_id: str, jobs: list[NewJob], *, batch: bool = False) -> tuple[int | None, list[int]]:
    """Insert jobs (optionally under a new batch) in one transaction; returns (batch_id, job ids)."""
    with db.session() as s:
        batch_id = None
        if batch:
            b = Batch(app_id=app_id, task=jobs[0].task if jobs else "")
            s.add(b)
            s.flush()
            batch_id = b.id
        rows = [
            Job(
                app_id=app_id,
                batch_id=batch_id,
                task=j.task,
                inputs=j.inputs,
                object_url=j.object_url,
                state=JobState.INITIALIZING,
                message="",
                attempts=0,
            )
            for j in jobs
        ]
        s.add_all(rows)
        s.flush()
        return batch_id, [r.id for r in rows]


def get_job(db: Database, job_id: int, app_id: str | None = None) -> Job | None:
    with db.session() as s:
        job = s.get(Job, job_id)
        if job is None or (app_id is not None and job.app_id != app_id):
            return None
        return job


def get_batch_jobs(db: Database, batch_id: int, app_id: str | None = None) -> list[Job] | None:
    """Jobs of a batch in submission order, or None when the batch does not exist (for this app)."""
    with db.session() as s:
        batch = s.get(Batch, batch_id)
        if batch is None or (app_id is not None and batch.app_id != app_id):
            return None
        return list(s.scalars(select(Job).where(Job.batch_id == batch_id).order_by(Job.id)))


def list_jobs(
    db: Database,
    *,
    limit: int = 50,
    state: int | None = None,
    app_id: str | None = None,
    task: str | None = None,
    before_id: int | None = None,
) -> list[Job]:
    """The newest jobs first, optionally of one app, task and state; ``before_id`` pages (ids below it)."""
    with db.session() as s:
        q = select(Job).order_by(Job.id.desc()).limit(limit)
        if state is not None:
            q = q.where(Job.state == state)
        if app_id is not None:
            q = q.where(Job.app_id == app_id)
        if task is not None:
            q = q.where(Job.task == task)
        if before_id is not None:
            q = q.where(Job.id < before_id)
        return list(s.scalars(q))


CANCELLED = "cancelled"


def cancel_job(db: Database, job_id: int, app_id: str) -> bool:
    """End a waiting or running job of ``app_id`` in state 3 with the message "cancelled"; False when it was
    already finished (or is not this app's). A running job's worker then can neither renew its lease nor write an
    outcome (both are conditional on state 1), so its result is dropped."""
    with db.session() as s:
        res = s.execute(
            update(Job)
            .where(
                and_(
                    Job.id == job_id,
                    Job.app_id == app_id,
                    Job.state.in_((JobState.INITIALIZING, JobState.RUNNING)),
                )
            )
            .values(state=JobState.FAILED, message=CANCELLED, finished_at=utcnow(), lease_until=None)
            .execution_options(synchronize_session=False)
        )
        return res.rowcount == 1


def pending_job_ids(db: Database, limit: int = 100) -> list[int]:
    with db.session() as s:
        q = select(Job.id).where(Job.state == JobState.INITIALIZING).order_by(Job.id).limit(limit)
        return list(s.scalars(q))


def claim_job(db: Database, job_id: int, worker: str, lease_s: float) -> Job | None:
    """Move a job from state 0 to 1 for this worker; None if someone else got it first."""
    now = utcnow()
    with db.session() as s:
        res = s.execute(
            update(Job)
            .where(and_(Job.id == job_id, Job.state == JobState.INITIALIZING))
            .values(
                state=JobState.RUNNING,
                worker=worker,
                lease_until=now + timedelta(seconds=lease_s),
                started_at=now,
                attempts=Job.attempts + 1,
                message="",
            )
        )
        if res.rowcount != 1:
            return None
        return s.get(Job, job_id)


def unfinished_ids(db: Database, job_ids: list[int]) -> list[int]:
    """Those of ``job_ids`` that exist and are waiting or running."""
    with db.session() as s:
        return list(
            s.scalars(
                select(Job.id).where(
                    and_(Job.id.in_(job_ids), Job.state.in_((JobState.INITIALIZING, JobState.RUNNING)))
                )
            )
        )


def renew_lease(db: Database, job_id: int, worker: str, lease_s: float, message: str | None = None) -> bool:
    """Extend the holder's lease, and set its progress message in the same write when one is given."""
    values: dict = {"lease_until": utcnow() + timedelta(seconds=lease_s)}
    if message is not None:
        values["message"] = message
    with db.session() as s:
        res = s.execute(
            update(Job)
            .where(and_(Job.id == job_id, Job.state == JobState.RUNNING, Job.worker == worker))
            .values(**values)
        )
        return res.rowcount == 1


def holds_job(db: Database, job_id: int, worker: str) -> bool:
    """Whether ``worker`` still runs the job: False once it was cancelled (or its lease lost to another worker)."""
    with db.session() as s:
        q = select(Job.id).where(and_(Job.id == job_id, Job.state == JobState.RUNNING, Job.worker == worker))
        return s.scalar(q) is not None


def finish_job(
    db: Database, job_id: int, worker: str, *, state: int, message: str, result: dict[str, Any] | None
) -> bool:
    """Write the outcome once: only the worker holding the job may finish it. ``result`` must be JSON-able."""
    with db.session() as s:
        res = s.execute(
            update(Job)
            .where(and_(Job.id == job_id, Job.state == JobState.RUNNING, Job.worker == worker))
            .values(state=state, message=message, result=result, finished_at=utcnow(), lease_until=None)
        )
        return res.rowcount == 1


@dataclass(frozen=True)
class LostJob:
    """A running job whose lease ran out: its worker stopped renewing it."""

    id: int
    attempts: int
    create_time: datetime


def lost_jobs(db: Database, now: datetime | None = None) -> list[LostJob]:
    """Running jobs whose lease ended before ``now``, oldest first."""
    now = now or utcnow()
    with db.session() as s:
        rows = s.execute(
            select(Job.id, Job.attempts, Job.create_time)
            .where(and_(Job.state == JobState.RUNNING, Job.lease_until < now))
            .order_by(Job.id)
        )
        return [LostJob(r.id, r.attempts, as_utc(r.create_time)) for r in rows]


def requeue_lost(db: Database, job_id: int, now: datetime | None = None) -> bool:
    """Put a lost job back in state 0 for another try; False when it is no longer lost (its worker came back,
    or another scan got there first)."""
    values = dict(state=JobState.INITIALIZING, message="", worker=None, lease_until=None)
    return _update_lost(db, job_id, now or utcnow(), values)


def fail_lost(db: Database, job_id: int, message: str, now: datetime | None = None) -> bool:
    """End a lost job in state 3 with ``message``; False when it is no longer lost."""
    now = now or utcnow()
    values = dict(state=JobState.FAILED, message=message, finished_at=now, lease_until=None)
    return _update_lost(db, job_id, now, values)


def _update_lost(db: Database, job_id: int, now: datetime, values: dict) -> bool:
    with db.session() as s:
        res = s.execute(
            update(Job)
            .where(and_(Job.id == job_id, Job.state == JobState.RUNNING, Job.lease_until < now))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return res.rowcount == 1


def expire_overdue(db: Database, deadline_s: float, now: datetime | None = None) -> int:
    """End the lease of running jobs older than ``deadline_s``, even while their worker still beats, so recovery
    fails them; returns how many."""
    now = now or utcnow()
    with db.session() as s:
        res = s.execute(
            update(Job)
            .where(and_(Job.state == JobState.RUNNING, Job.create_time < now - timedelta(seconds=deadline_s)))
            .values(lease_until=now - timedelta(seconds=1))
            .execution_options(synchronize_session=False)
        )
        return res.rowcount


def expire_leases_of(db: Database, workers: list[str]) -> int:
    """End the leases of workers known to be dead, so recovery requeues their jobs at once."""
    if not workers:
        return 0
    with db.session() as s:
        res = s.execute(
            update(Job)
            .where(and_(Job.state == JobState.RUNNING, Job.worker.in_(workers)))
            .values(lease_until=utcnow() - timedelta(seconds=1))
        )
        return res.rowcount


def running_workers(db: Database) -> list[str]:
    with db.session() as s:
        q = select(Job.worker).where(Job.state == JobState.RUNNING).distinct()
        return [w for w in s.scalars(q) if w]


def waiting_jobs(db: Database, older_than_s: float = 0.0, limit: int = 5000) -> list[tuple[int, str]]:
    """``(id, task)`` of jobs in state 0 created more than ``older_than_s`` ago, oldest first."""
    cutoff = utcnow() - timedelta(seconds=older_than_s)
    with db.session() as s:
        rows = s.execute(
            select(Job.id, Job.task)
            .where(and_(Job.state == JobState.INITIALIZING, Job.create_time < cutoff))
            .order_by(Job.id)
            .limit(limit)
        )
        return [(r.id, r.task) for r in rows]


def tasks_of(db: Database, job_ids: list[int]) -> dict[int, str]:
    """Each existing job's task name (a job that does not exist is left out)."""
    if not job_ids:
        return {}
    with db.session() as s:
        return {r.id: r.task for r in s.execute(select(Job.id, Job.task).where(Job.id.in_(job_ids)))}


def count_by_state(db: Database, states: tuple[int, ...] = (JobState.INITIALIZING, JobState.RUNNING)) -> dict[int, int]:
    """How many jobs are in each of ``states`` (0 for a state no job is in)."""
    with db.session() as s:
        rows = s.execute(select(Job.state, func.count()).where(Job.state.in_(states)).group_by(Job.state)).all()
    counts = dict.fromkeys(states, 0)
    counts.update({int(state): int(n) for state, n in rows})
    return counts
