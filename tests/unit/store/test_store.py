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
    assert not jobs.finish_job(db, job_id, "w2", state=JobState.COMPLETED, message="success", result="{}")
    assert jobs.finish_job(db, job_id, "w1", state=JobState.COMPLETED, message="success", result='{"a":1}')
    assert not jobs.finish_job(db, job_id, "w1", state=JobState.FAILED, message="late", result=None)
    job = jobs.get_job(db, job_id)
    assert (job.state, job.message, job.result) == (JobState.COMPLETED, "success", '{"a":1}')


def test_expired_leases_are_requeued_then_failed_after_max_attempts(db: Database) -> None:
    app_id = _app(db)
    _, (job_id,) = jobs.create_jobs(db, app_id, [jobs.NewJob("t", {})])
    for attempt in (1, 2):
        assert jobs.claim_job(db, job_id, f"dead{attempt}", 0.001)
        requeued = jobs.recover_expired(db, max_attempts=2, deadline_s=3600, now=utcnow() + timedelta(seconds=1))
        if attempt == 1:
            assert requeued == [job_id]
            assert jobs.get_job(db, job_id).state == JobState.INITIALIZING
    job = jobs.get_job(db, job_id)
    assert job.state == JobState.FAILED and "worker stopped 2 times" in job.message


def test_live_leases_are_left_alone_and_deadline_fails(db: Database) -> None:
    app_id = _app(db)
    _, (a, b) = jobs.create_jobs(db, app_id, [jobs.NewJob("t", {}), jobs.NewJob("t", {})])
    jobs.claim_job(db, a, "alive", 60)
    jobs.claim_job(db, b, "dead", 60)
    assert jobs.renew_lease(db, a, "alive", 60)
    assert not jobs.renew_lease(db, a, "intruder", 60)
    assert jobs.expire_leases_of(db, ["dead"]) == 1
    with db.session() as s:  # make job b older than the deadline
        s.execute(update(Job).where(Job.id == b).values(create_time=utcnow() - timedelta(hours=2)))
    assert jobs.recover_expired(db, max_attempts=3, deadline_s=3600) == []
    assert jobs.get_job(db, a).state == JobState.RUNNING
    failed = jobs.get_job(db, b)
    assert failed.state == JobState.FAILED and failed.message == "job timed out"
    assert set(jobs.running_workers(db)) == {"alive"}


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
