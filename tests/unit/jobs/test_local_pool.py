"""The in-process pool: runs jobs, survives failing ones, and picks up work left by a dead process."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from medialens.config import Settings
from medialens.jobs.local import LocalPoolExecutor
from medialens.jobs.recovery import dead_local_workers
from medialens.jobs.runner import run_job
from medialens.media.errors import DecodeError
from medialens.store import apps, jobs
from medialens.store.db import Database
from medialens.store.tables import JobState
from medialens.tasks.base import TaskContext, TaskInput, TaskSpec, register
from medialens.tasks.options import TaskOptions
from medialens.tasks.results import TaskResult


class Doubled(TaskResult):
    value: int


class DoubleOptions(TaskOptions):
    n: int = 0
    boom: str = ""
    sleep: float = 0.0


def _double(ctx: TaskContext, _given: TaskInput, inputs: DoubleOptions) -> Doubled:
    ctx.report("working")
    if inputs.boom == "media":
        raise DecodeError("image could not be decoded: not an image")
    if inputs.boom == "bug":
        raise ZeroDivisionError("division by zero")
    if inputs.boom == "unstorable":
        return Doubled.model_construct(value=object())  # an object has no JSON form
    if inputs.sleep:
        time.sleep(inputs.sleep)
    assert ctx.workdir.is_dir()
    return Doubled(value=inputs.n * 2)


register(TaskSpec("test_double", "image", _double, DoubleOptions, Doubled))


@pytest.fixture
def env(tmp_path: Path) -> tuple[Database, Settings, str]:
    settings = Settings(data_dir=tmp_path, job_poll_interval_s=0.05, job_lease_s=1.0)
    db = Database(settings.resolved_database_url)
    db.migrate()
    return db, settings, apps.create_app(db, "t").app_id


def _wait(db: Database, ids: list[int], timeout: float = 20) -> list:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = [jobs.get_job(db, i) for i in ids]
        if all(r.state in JobState.FINISHED for r in rows):
            return rows
        time.sleep(0.05)
    raise AssertionError(f"jobs not finished: {[(r.id, r.state) for r in rows]}")


def test_pool_runs_jobs_and_failures_do_not_kill_workers(env) -> None:
    db, settings, app_id = env
    pool = LocalPoolExecutor(db, settings, size=2)
    pool.start()
    try:
        inputs = [{"n": 1}, {"boom": "bug"}, {"boom": "media"}, {"n": 5}, {"n": 7}]
        _, ids = jobs.create_jobs(db, app_id, [jobs.NewJob("test_double", {"options": i}) for i in inputs])
        pool.notify(ids)
        rows = _wait(db, ids)
    finally:
        pool.stop()
    assert [r.state for r in rows] == [2, 3, 3, 2, 2]
    assert rows[0].result == {"value": 2} and rows[0].message == "success"
    assert rows[1].message == "analysis failed: ZeroDivisionError: division by zero"
    assert rows[2].message == "image could not be decoded: not an image"
    assert rows[4].result == {"value": 14}


def test_a_result_that_cannot_be_stored_fails_the_job_not_the_worker(env) -> None:
    db, settings, app_id = env
    _, (job_id,) = jobs.create_jobs(db, app_id, [jobs.NewJob("test_double", {"options": {"boom": "unstorable"}})])
    assert run_job(db, settings, job_id, "w")
    job = jobs.get_job(db, job_id)
    assert job.state == JobState.FAILED and job.result is None
    assert job.message.startswith("analysis failed: PydanticSerializationError: Unable to serialize unknown type")


def test_unknown_task_fails_the_job(env) -> None:
    db, settings, app_id = env
    _, (job_id,) = jobs.create_jobs(db, app_id, [jobs.NewJob("no_such_task", {})])
    assert run_job(db, settings, job_id, "w")
    job = jobs.get_job(db, job_id)
    assert job.state == JobState.FAILED and "KeyError" in job.message
    assert not run_job(db, settings, job_id, "w")  # finished jobs are never claimed again


def test_jobs_of_a_dead_process_are_resumed_at_start(env) -> None:
    db, settings, app_id = env
    _, (orphan, fresh) = jobs.create_jobs(db, app_id, [jobs.NewJob("test_double", {"options": {"n": 3}})] * 2)
    import socket

    dead_worker = f"{socket.gethostname()}:999999:0"  # no such pid
    jobs.claim_job(db, orphan, dead_worker, lease_s=3600)
    pool = LocalPoolExecutor(db, settings, size=1)
    pool.start()  # no notify: start-up recovery must find both
    try:
        rows = _wait(db, [orphan, fresh])
    finally:
        pool.stop()
    assert [r.state for r in rows] == [2, 2]
    assert rows[0].attempts == 2 and rows[0].result == {"value": 6}


def test_lease_expiry_requeues_jobs_of_silent_workers(env) -> None:
    db, settings, app_id = env
    _, (job_id,) = jobs.create_jobs(db, app_id, [jobs.NewJob("test_double", {"options": {"n": 4}})])
    jobs.claim_job(db, job_id, "elsewhere:1:0", lease_s=0.2)  # another host: only its lease tells
    pool = LocalPoolExecutor(db, settings, size=1)
    pool.start()
    try:
        (row,) = _wait(db, [job_id])
    finally:
        pool.stop()
    assert row.state == JobState.COMPLETED and row.worker.startswith(pool.host)


def test_long_jobs_keep_their_lease(env) -> None:
    db, settings, app_id = env
    _, (job_id,) = jobs.create_jobs(db, app_id, [jobs.NewJob("test_double", {"options": {"n": 1, "sleep": 2.5}})])
    pool = LocalPoolExecutor(db, settings, size=2)
    pool.start()
    try:
        pool.notify([job_id])
        (row,) = _wait(db, [job_id])
    finally:
        pool.stop()
    assert row.state == JobState.COMPLETED and row.attempts == 1  # never requeued although lease is 1 s


def test_dead_local_workers_only_names_this_hosts_dead_pids() -> None:
    import os

    alive = f"h:{os.getpid()}:0"
    assert dead_local_workers([alive, "h:999999:1", "other:999999:0", "junk"], "h") == ["h:999999:1"]


def test_progress_of_a_running_job_reaches_the_store_without_blocking_it(env) -> None:
    db, settings, app_id = env
    _, (job_id,) = jobs.create_jobs(db, app_id, [jobs.NewJob("test_double", {"options": {"n": 1, "sleep": 2.0}})])
    pool = LocalPoolExecutor(db, settings, size=1)
    pool.start()
    try:
        pool.notify([job_id])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and jobs.get_job(db, job_id).message != "working":
            time.sleep(0.05)
        running = jobs.get_job(db, job_id)
        (row,) = _wait(db, [job_id])
    finally:
        pool.stop()
    assert running.state == JobState.RUNNING and running.message == "working"
    assert row.state == JobState.COMPLETED and row.message == "success"  # the outcome replaces the progress


def test_a_finished_jobs_heartbeat_ends_at_once(env) -> None:
    import threading

    db, settings, app_id = env
    settings = settings.model_copy(update={"job_lease_s": 30.0})
    _, (job_id,) = jobs.create_jobs(db, app_id, [jobs.NewJob("test_double", {"options": {"n": 1}})])
    assert run_job(db, settings, job_id, "w")
    deadline = time.monotonic() + 2  # far below the 10 s between two lease renewals
    while time.monotonic() < deadline and any(t.name == f"lease-{job_id}" for t in threading.enumerate()):
        time.sleep(0.02)
    assert not any(t.name == f"lease-{job_id}" for t in threading.enumerate())
    assert jobs.get_job(db, job_id).message == "success"
