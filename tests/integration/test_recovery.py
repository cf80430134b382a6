"""Recovery scan and routing of the Celery executor, against a real store and a recording publisher."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from sqlalchemy import update

from medialens.config import Settings
from medialens.jobs.broker import queue_for
from medialens.jobs.celery_executor import CeleryExecutor
from medialens.jobs.celery_recovery import recovery_scan
from medialens.store import apps, jobs
from medialens.store.db import Database
from medialens.store.tables import Job, JobState, utcnow


@dataclass
class FakePublisher:
    depths: dict[str, int] | None = field(default_factory=lambda: {q: 0 for q in ("image", "video", "index", "gpu")})
    sent: list[tuple[int, str]] = field(default_factory=list)

    def publish(self, items):
        self.sent.extend(items)
        return len(items)

    def queue_depths(self):
        return self.depths

    def recently_published(self, job_id: int) -> bool:
        return any(j == job_id for j, _ in self.sent)

    def close(self) -> None:
        pass


@pytest.fixture
def db(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'r.db'}")
    database.migrate()
    yield database
    database.dispose()


def _jobs(db: Database, *tasks: str) -> list[int]:
    app = apps.create_app(db, "r")
    return jobs.create_jobs(db, app.app_id, [jobs.NewJob(t, {"url": "http://x"}) for t in tasks])[1]


def test_routing_by_media_kind() -> None:
    assert queue_for("video_quality") == "video"
    assert queue_for("image_quality") == "image"
    assert queue_for("no_such_task") == "video"


def test_notify_routes_each_job_to_its_queue(db, tmp_path) -> None:
    ids = _jobs(db, "video_quality", "image_quality")
    executor = CeleryExecutor(db, Settings(data_dir=tmp_path))
    executor.publisher = FakePublisher()
    executor.notify(ids)
    assert executor.publisher.sent == [(ids[0], "video"), (ids[1], "image")]


def test_scan_requeues_dead_workers_jobs_and_resends_lost_messages(db, tmp_path) -> None:
    settings = Settings(data_dir=tmp_path, job_lease_s=0.01)
    dead, lost, queued = _jobs(db, "video_quality", "video_quality", "image_quality")
    assert jobs.claim_job(db, dead, "otherhost:1:0", lease_s=-1)  # its lease has already run out
    publisher = FakePublisher(depths={"image": 3, "video": 0, "index": 0, "gpu": 0})
    sent = recovery_scan(db, settings, publisher, startup=True)
    # the dead worker's job is back in state 0 and published; the lost video job is resent; the image queue
    # still holds messages, so its waiting job is left alone
    assert sorted(sent) == sorted([dead, lost]) and queued not in sent
    assert jobs.get_job(db, dead).state == JobState.INITIALIZING
    # a second pass does not resend what this process just sent
    assert recovery_scan(db, settings, publisher) == []
    # the broker cannot be read: expired leases are still recovered, nothing is guessed about lost messages
    assert recovery_scan(db, settings, FakePublisher(depths=None)) == []


def test_scan_fails_a_job_past_its_deadline_even_while_its_worker_beats(db, tmp_path) -> None:
    settings = Settings(data_dir=tmp_path, job_timeout_s=60)
    (job_id,) = _jobs(db, "video_quality")
    assert jobs.claim_job(db, job_id, "livehost:1:0", lease_s=3600)
    with db.session() as s:
        s.execute(update(Job).where(Job.id == job_id).values(create_time=utcnow() - timedelta(seconds=120)))
    recovery_scan(db, settings, FakePublisher())
    job = jobs.get_job(db, job_id)
    assert job.state == JobState.FAILED and job.message == "job timed out"
    # the worker that still runs it cannot overwrite the outcome
    assert not jobs.finish_job(db, job_id, "livehost:1:0", state=JobState.COMPLETED, message="success", result={})
