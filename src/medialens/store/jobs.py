"""Durable job records: create, claim, heartbeat, finish, recover.

Every state change is a conditional UPDATE on the job's current state and owner, so two workers (threads,
processes or machines) can never both run or both finish the same job.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, select, update

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


def list_jobs(db: Database, *, limit: int = 50, state: int | None = None) -> list[Job]:
    with db.session() as s:
        q = select(Job).order_by(Job.id.desc()).limit(limit)
        if state is not None:
            q = q.where(Job.state == state)
        return list(s.scalars(q))


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


def finish_job(db: Database, job_id: int, worker: str, *, state: int, message: str, result: str | None) -> bool:
    """Write the outcome once: only the worker holding the job may finish it."""
    with db.session() as s:
        res = s.execute(
            update(Job)
            .where(and_(Job.id == job_id, Job.state == JobState.RUNNING, Job.worker == worker))
            .values(state=state, message=message, result=result, finished_at=utcnow(), lease_until=None)
        )
        return res.rowcount == 1


def recover_expired(db: Database, *, max_attempts: int, deadline_s: float, now: datetime | None = None) -> list[int]:
    """Requeue running jobs whose lease ran out (their worker died); fail those out of attempts or time.

    Returns the ids put back in state 0, so the caller can hand them to its executor.
    """
    now = now or utcnow()
    with db.session() as s:
        stale = list(s.scalars(select(Job).where(and_(Job.state == JobState.RUNNING, Job.lease_until < now))))
        requeued: list[int] = []
        for job in stale:
            created = as_utc(job.create_time)
            too_old = (now - created).total_seconds() > deadline_s
            if job.attempts >= max_attempts or too_old:
                why = "job timed out" if too_old else f"job lost: its worker stopped {job.attempts} times"
                values = dict(state=JobState.FAILED, message=why, finished_at=now, lease_until=None)
            else:
                values = dict(state=JobState.INITIALIZING, message="", worker=None, lease_until=None)
                requeued.append(job.id)
            s.execute(
                update(Job)
                .where(and_(Job.id == job.id, Job.state == JobState.RUNNING, Job.lease_until < now))
                .values(**values)
                .execution_options(synchronize_session=False)
            )
        return requeued


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
