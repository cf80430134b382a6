"""Apps, jobs and batches on SQLite and PostgreSQL: creation, claiming, leases, recovery."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import inspect, update

from medialens.store import apps, jobs
from medialens.store.db import Database
from medialens.store.migrate import downgrade, upgrade
from medialens.store.tables import Job, JobState, utcnow


def _app(db: Database) -> str:
    return apps.create_app(db, "test").app_id


def test_migrations_create_and_drop_the_schema(db: Database) -> None:
    assert {"apps", "jobs", "batches"} <= set(inspect(db.engine).get_table_names())
    downgrade(db.engine, "base")
    assert "jobs" not in inspect(db.engine).get_table_names()
    upgrade(db.engine)
    assert "jobs" in inspect(db.engine).get_table_names()


def test_apps_crud(db: Database) -> None:
    app = apps.create_app(db, "demo")
    assert len(app.app_id) == 19 and app.app_id.isdigit()
    assert len(app.token) == 32
    assert apps.get_app(db, app.app_id).token == app.token
    assert [a.app_id for a in apps.list_apps(db)] == [app.app_id]
    assert apps.delete_app(db, app.app_id)
    assert apps.get_app(db, app.app_id) is None
    assert not apps.delete_app(db, app.app_id)


def test_jobs_get_integer_ids_and_batches_keep_order(db: Database) -> None:
    app_id = _app(db)
    _, (single,) = jobs.create_jobs(db, app_id, [jobs.NewJob("t", {"url": "u"}, "u")])
    batch_id, ids = jobs.create_jobs(
        db, app_id, [jobs.NewJob("t", {"url": f"u{i}"}, f"u{i}") for i in range(3)], batch=True
    )
    assert isinstance(single, int) and isinstance(batch_id, int)
    assert ids == sorted(ids) and single < ids[0]
    listed = jobs.get_batch_jobs(db, batch_id, app_id)
    assert [j.object_url for j in listed] == ["u0", "u1", "u2"]
    assert all(j.state == JobState.INITIALIZING and j.batch_id == batch_id for j in listed)
    assert jobs.get_batch_jobs(db, batch_id, "another-app") is None
    assert jobs.get_job(db, single, "another-app") is None
    assert jobs.get_job(db, single, app_id).inputs == {"url": "u"}


def test_a_job_is_claimed_once_even_under_contention(db: Database) -> None:
    app_id = _app(db)
    _, (job_id,) = jobs.create_jobs(db, app_id, [jobs.NewJob("t", {})])
    winners: list[str] = []
    barrier = threading.Barrier(6)

    def claim(n: int) -> None:
        barrier.wait()
        if jobs.claim_job(db, job_id, f"w{n}", 30):
            winners.append(f"w{n}")

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1
    job = jobs.get_job(db, job_id)
    assert job.state == JobState.RUNNING and job.worker == winners[0] and job.attempts == 1


def test_only_the_owner_finishes_and_only_once(db: Database) -> None:
    app_id = _app(db)
    _, (job_id,) = jobs.create_jobs(db, app_id, [jobs.NewJob("t", {})])
    jobs.claim_job(db, job_id, "w1", 30)
    assert not jobs.finish_job(db, job_id, "w2", state=JobState.COMPLETED, message="success", result={})
    assert jobs.finish_job(db, job_id, "w1", state=JobState.COMPLETED, message="success", result={"a": 1})
    assert not jobs.finish_job(db, job_id, "w1", state=JobState.FAILED, message="late", result=None)
    job = jobs.get_job(db, job_id)
    assert (job.state, job.message, job.result) == (JobState.COMPLETED, "success", {"a": 1})


def test_lost_jobs_are_requeued_or_failed_only_while_their_lease_is_over(db: Database) -> None:
    app_id = _app(db)
    _, (job_id,) = jobs.create_jobs(db, app_id, [jobs.NewJob("t", {})])
    assert jobs.claim_job(db, job_id, "dead", -1)  # its lease is already over
    (lost,) = jobs.lost_jobs(db)
    assert (lost.id, lost.attempts) == (job_id, 1) and lost.create_time.tzinfo is not None
    assert jobs.requeue_lost(db, job_id)
    job = jobs.get_job(db, job_id)
    assert (job.state, job.worker, job.lease_until) == (JobState.INITIALIZING, None, None)
    assert not jobs.requeue_lost(db, job_id)  # not running any more: a second scan changes nothing
    assert jobs.claim_job(db, job_id, "alive", 60)
    assert jobs.lost_jobs(db) == []
    assert not jobs.requeue_lost(db, job_id) and not jobs.fail_lost(db, job_id, "no")  # a live lease is kept
    assert jobs.expire_leases_of(db, ["alive"]) == 1
    assert jobs.fail_lost(db, job_id, "job lost: its worker stopped 2 times")
    job = jobs.get_job(db, job_id)
    assert job.state == JobState.FAILED and job.message == "job lost: its worker stopped 2 times"
    assert job.finished_at is not None and job.lease_until is None and job.attempts == 2
    assert not jobs.fail_lost(db, job_id, "again")


def test_expire_overdue_ends_the_lease_of_old_running_jobs_only(db: Database) -> None:
    app_id = _app(db)
    _, (old, young, waiting) = jobs.create_jobs(db, app_id, [jobs.NewJob("t", {}) for _ in range(3)])
    jobs.claim_job(db, old, "w", 3600)
    jobs.claim_job(db, young, "w", 3600)
    with db.session() as s:
        s.execute(update(Job).where(Job.id.in_([old, waiting])).values(create_time=utcnow() - timedelta(hours=2)))
    assert jobs.expire_overdue(db, deadline_s=3600) == 1
    assert [j.id for j in jobs.lost_jobs(db)] == [old]
    assert jobs.get_job(db, waiting).state == JobState.INITIALIZING


def test_live_leases_are_renewed_only_by_their_holder(db: Database) -> None:
    app_id = _app(db)
    _, (a, b) = jobs.create_jobs(db, app_id, [jobs.NewJob("t", {}), jobs.NewJob("t", {})])
    jobs.claim_job(db, a, "alive", 60)
    jobs.claim_job(db, b, "dead", 60)
    assert jobs.renew_lease(db, a, "alive", 60)
    assert not jobs.renew_lease(db, a, "intruder", 60)
    assert jobs.expire_leases_of(db, ["dead"]) == 1
    assert jobs.expire_leases_of(db, []) == 0
    assert [j.id for j in jobs.lost_jobs(db)] == [b]
    assert set(jobs.running_workers(db)) == {"alive", "dead"}


def test_waiting_jobs_tasks_and_counts(db: Database) -> None:
    app_id = _app(db)
    _, ids = jobs.create_jobs(db, app_id, [jobs.NewJob(t, {}) for t in ("a", "b", "c", "d")])
    jobs.claim_job(db, ids[0], "w", 30)
    jobs.claim_job(db, ids[3], "w", 30)
    jobs.finish_job(db, ids[3], "w", state=JobState.FAILED, message="x", result=None)
    assert jobs.waiting_jobs(db) == [(ids[1], "b"), (ids[2], "c")]
    assert jobs.waiting_jobs(db, limit=1) == [(ids[1], "b")]
    assert jobs.waiting_jobs(db, older_than_s=3600) == []  # just written: maybe still on its way to a broker
    assert jobs.tasks_of(db, [ids[0], ids[2], 999_999]) == {ids[0]: "a", ids[2]: "c"}
    assert jobs.tasks_of(db, []) == {}
    assert jobs.count_by_state(db) == {JobState.INITIALIZING: 2, JobState.RUNNING: 1}
    assert jobs.count_by_state(db, (JobState.COMPLETED, JobState.FAILED)) == {
        JobState.COMPLETED: 0,
        JobState.FAILED: 1,
    }


def test_messages_and_listing(db: Database) -> None:
    app_id = _app(db)
    _, ids = jobs.create_jobs(db, app_id, [jobs.NewJob("t", {}) for _ in range(3)])
    jobs.claim_job(db, ids[0], "w", 30)
    assert jobs.renew_lease(db, ids[0], "w", 30, "video downloading")
    assert jobs.get_job(db, ids[0]).message == "video downloading"
    assert not jobs.renew_lease(db, ids[0], "someone else", 30, "x")  # only the holder writes
    assert jobs.renew_lease(db, ids[0], "w", 30)  # a plain renewal keeps the message
    assert jobs.get_job(db, ids[0]).message == "video downloading"
    assert [j.id for j in jobs.list_jobs(db, limit=2)] == [ids[2], ids[1]]
    assert [j.id for j in jobs.list_jobs(db, state=JobState.RUNNING)] == [ids[0]]
    assert jobs.pending_job_ids(db) == ids[1:]
