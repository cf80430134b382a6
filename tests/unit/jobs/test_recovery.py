"""The recovery pass both executors share: lost leases are requeued, then failed after too many tries or past the
deadline; jobs of dead local processes come back at once; staged media of ended jobs is swept."""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from medialens.blobs import open_blob_store
from medialens.config import Settings
from medialens.jobs import recovery
from medialens.jobs.celery_executor import CeleryExecutor
from medialens.jobs.celery_recovery import recovery_scan
from medialens.jobs.local import LocalPoolExecutor
from medialens.store import apps, jobs
from medialens.store.db import Database
from medialens.store.tables import Job, JobState, utcnow
from medialens.tasks.intake import staged_media_key

HOST = socket.gethostname()
DEAD_PID = 999_999  # no such process


@dataclass
class FakePublisher:
    depths: dict[str, int] | None = field(default_factory=lambda: {q: 0 for q in ("image", "video", "index", "gpu")})
    sent: list[tuple[int, str]] = field(default_factory=list)

    def publish(self, items: list[tuple[int, str]]) -> int:
        self.sent.extend(items)
        return len(items)

    def queue_depths(self) -> dict[str, int] | None:
        return self.depths

    def recently_published(self, job_id: int) -> bool:
        return any(j == job_id for j, _ in self.sent)

    def close(self) -> None:
        pass


def _jobs(db: Database, n: int, task: str = "video_quality") -> list[int]:
    app_id = apps.create_app(db, "r").app_id
    return jobs.create_jobs(db, app_id, [jobs.NewJob(task, {"url": "http://x"}) for _ in range(n)])[1]


def _age(db: Database, job_id: int, seconds: float) -> None:
    with db.session() as s:
        s.execute(update(Job).where(Job.id == job_id).values(create_time=utcnow() - timedelta(seconds=seconds)))


def test_a_lost_job_is_requeued_until_its_worker_stopped_max_attempts_times(db: Database) -> None:
    (job_id,) = _jobs(db, 1)
    for attempt in (1, 2, 3):
        assert jobs.claim_job(db, job_id, f"gone{attempt}", 0.001)
        requeued = recovery.recover_lost(db, max_attempts=3, deadline_s=3600, now=utcnow() + timedelta(seconds=1))
        assert requeued == ([job_id] if attempt < 3 else [])
    job = jobs.get_job(db, job_id)
    assert job.state == JobState.FAILED and job.message == "job lost: its worker stopped 3 times"


def test_a_lost_job_past_its_deadline_fails_and_live_leases_are_left_alone(db: Database) -> None:
    alive, lost = _jobs(db, 2)
    jobs.claim_job(db, alive, "alive", 60)
    jobs.claim_job(db, lost, "gone", -1)
    _age(db, lost, 7200)
    assert recovery.recover_lost(db, max_attempts=3, deadline_s=3600) == []
    assert jobs.get_job(db, alive).state == JobState.RUNNING
    failed = jobs.get_job(db, lost)
    assert failed.state == JobState.FAILED and failed.message == "job timed out"


def test_scan_requeues_dead_local_workers_at_once_and_fails_overdue_jobs(db: Database, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, job_timeout_s=60)
    of_dead_pid, of_live_pid, elsewhere, overdue = _jobs(db, 4)
    jobs.claim_job(db, of_dead_pid, f"{HOST}:{DEAD_PID}:0", 3600)
    jobs.claim_job(db, of_live_pid, f"{HOST}:{os.getpid()}:0", 3600)
    jobs.claim_job(db, elsewhere, f"otherhost:{DEAD_PID}:0", 3600)  # another host: only its lease can tell
    jobs.claim_job(db, overdue, f"{HOST}:{os.getpid()}:1", 3600)  # still beating, but past the deadline
    _age(db, overdue, 120)
    assert recovery.scan(db, settings, host=HOST) == [of_dead_pid]
    states = {i: jobs.get_job(db, i) for i in (of_dead_pid, of_live_pid, elsewhere, overdue)}
    assert states[of_dead_pid].state == JobState.INITIALIZING and states[of_dead_pid].worker is None
    assert states[of_live_pid].state == states[elsewhere].state == JobState.RUNNING
    assert (states[overdue].state, states[overdue].message) == (JobState.FAILED, "job timed out")


def test_scan_sweeps_staged_media_of_ended_jobs(db: Database, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, blob_url=(tmp_path / "shared").as_uri())
    running, lost = _jobs(db, 2)
    jobs.claim_job(db, running, "alive", 3600)
    jobs.claim_job(db, lost, "gone", -1)
    settings_one_try = settings.model_copy(update={"job_max_attempts": 1})
    store = open_blob_store(settings)
    for job_id in (running, lost):
        store.put_bytes(staged_media_key(job_id), b"video")
    assert recovery.scan(db, settings_one_try) == []  # out of attempts: failed, and its media goes
    assert jobs.get_job(db, lost).state == JobState.FAILED
    assert store.list("jobs") == [staged_media_key(running)]


def test_a_failing_sweep_does_not_stop_recovery(db: Database, tmp_path: Path, monkeypatch, caplog) -> None:
    def broken(*_args) -> int:
        raise OSError("blob store unreachable")

    monkeypatch.setattr(recovery, "sweep_staged_media", broken)
    (job_id,) = _jobs(db, 1)
    jobs.claim_job(db, job_id, "gone", -1)
    assert recovery.scan(db, Settings(data_dir=tmp_path)) == [job_id]
    assert "could not sweep staged media" in caplog.text


def test_dead_local_workers_only_names_this_hosts_dead_pids() -> None:
    alive = f"h:{os.getpid()}:0"
    workers = [alive, f"h:{DEAD_PID}:1", f"other:{DEAD_PID}:0", "junk", "h:x:0"]
    assert recovery.dead_local_workers(workers, "h") == [f"h:{DEAD_PID}:1"]


# --- both executors use the same pass ----------------------------------------------------------------------------
def _recover_with_local_pool(db: Database, settings: Settings) -> list[int]:
    pool = LocalPoolExecutor(db, settings, size=1)  # not started: only its recovery runs
    pool._recover()
    return sorted(pool._queued)


def _recover_with_celery(db: Database, settings: Settings) -> list[int]:
    publisher = FakePublisher()
    sent = recovery_scan(db, settings, publisher, startup=True)
    assert sorted(sent) == sorted(j for j, _ in publisher.sent)
    assert {q for _, q in publisher.sent} <= {"video"}
    return sorted(sent)


@pytest.mark.parametrize("recover", [_recover_with_local_pool, _recover_with_celery], ids=["local", "celery"])
def test_both_executors_recover_the_same_way(db: Database, tmp_path: Path, recover, monkeypatch) -> None:
    calls: list[str | None] = []
    shared_scan = recovery.scan

    def spy(db_, settings_, *, host=None, now=None):
        calls.append(host)
        return shared_scan(db_, settings_, host=host, now=now)

    monkeypatch.setattr(recovery, "scan", spy)
    settings = Settings(data_dir=tmp_path, job_timeout_s=60, job_max_attempts=2)
    dead, lost_twice, overdue, waiting = _jobs(db, 4)
    jobs.claim_job(db, dead, f"{HOST}:{DEAD_PID}:0", 3600)
    for worker in ("gone1", "gone2"):
        jobs.claim_job(db, lost_twice, worker, -1)
        if worker == "gone1":
            jobs.requeue_lost(db, lost_twice)
    jobs.claim_job(db, overdue, "beating", 3600)
    _age(db, overdue, 120)

    dispatched = recover(db, settings)

    assert len(calls) == 1  # one shared pass, nothing of its own
    assert dispatched == sorted([dead, waiting])  # the requeued job and the one that was waiting
    assert jobs.get_job(db, dead).state == JobState.INITIALIZING
    assert jobs.get_job(db, lost_twice).message == "job lost: its worker stopped 2 times"
    assert jobs.get_job(db, overdue).message == "job timed out"


def _broken_scan(*_args, **_kwargs) -> list[int]:
    raise RuntimeError("database is down")


def test_celery_api_start_up_survives_a_failing_recovery(db: Database, tmp_path: Path, monkeypatch, caplog) -> None:
    monkeypatch.setattr(recovery, "scan", _broken_scan)
    executor = CeleryExecutor(db, Settings(data_dir=tmp_path))
    executor.publisher = FakePublisher()
    executor.start()  # the workers recover on their timers
    executor.stop()
    assert "start-up recovery scan failed" in caplog.text and executor.publisher.sent == []


def test_the_pool_janitor_survives_a_failing_pass(tmp_path: Path, monkeypatch, caplog) -> None:
    settings = Settings(data_dir=tmp_path, job_poll_interval_s=0.05)  # a pass every second
    database = Database(settings.resolved_database_url)
    database.migrate()
    passes: list[int] = []
    shared_scan = recovery.scan

    def flaky(db_, settings_, *, host=None, now=None):
        passes.append(1)
        if len(passes) == 2:  # the janitor's first pass fails
            raise RuntimeError("database is down")
        return shared_scan(db_, settings_, host=host, now=now)

    monkeypatch.setattr(recovery, "scan", flaky)
    pool = LocalPoolExecutor(database, settings, size=1)
    pool.start()
    try:
        deadline = time.monotonic() + 10
        while len(passes) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        pool.stop()
        database.dispose()
    assert len(passes) >= 3 and "job recovery scan failed" in caplog.text
