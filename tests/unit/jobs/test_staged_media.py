"""With a shared blob store, a job's large video download is staged: a retry reuses it, finishing removes it, and
small downloads are not staged at all."""

from __future__ import annotations

import shutil
from pathlib import Path

from medialens.blobs import open_blob_store
from medialens.config import Settings
from medialens.jobs.recovery import recover_lost, sweep_staged_media
from medialens.jobs.runner import run_job
from medialens.store import apps, jobs
from medialens.store.db import Database
from medialens.store.tables import JobState
from medialens.tasks.base import TaskContext, TaskInput, TaskSpec, register
from medialens.tasks.intake import download_video, staged_media_key
from medialens.tasks.options import TaskOptions
from medialens.tasks.results import TaskResult
from tests.conftest import MEDIA
from tests.support import media_server

CLIP = "basketball_gym.mp4"


def _settings(tmp_path: Path, stage_min_bytes: int = 0) -> Settings:
    return Settings(
        data_dir=tmp_path,
        blob_url=(tmp_path / "shared-store").as_uri(),
        allow_private_urls=True,
        stage_min_bytes=stage_min_bytes,
    )


def test_a_retry_reuses_the_staged_download(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    served = tmp_path / "served"
    served.mkdir()
    shutil.copy(MEDIA / "video" / CLIP, served / CLIP)
    with media_server(served) as base:
        first = TaskContext(settings=settings, workdir=tmp_path / "try1", job_id=7)
        first.workdir.mkdir()
        path, info = download_video(first, f"{base}/{CLIP}")
        assert (info.width, info.height) == (426, 240)
    assert open_blob_store(settings).exists(staged_media_key(7)) and first.staged == [staged_media_key(7)]
    (served / CLIP).unlink()  # the origin is gone: only the staged copy can serve the retry
    retry = TaskContext(settings=settings, workdir=tmp_path / "try2", job_id=7, attempt=2)
    retry.workdir.mkdir()
    path2, info2 = download_video(retry, "http://127.0.0.1:9/gone.mp4")
    assert path2.read_bytes() == path.read_bytes() and info2 == info
    assert retry.staged == [staged_media_key(7)]  # the retry's runner removes it when the job ends


def test_small_downloads_are_not_staged_and_a_retry_fetches_again(tmp_path: Path) -> None:
    size = (MEDIA / "video" / CLIP).stat().st_size
    settings = _settings(tmp_path, stage_min_bytes=size + 1)
    with media_server(MEDIA / "video") as base:
        first = TaskContext(settings=settings, workdir=tmp_path / "try1", job_id=8)
        first.workdir.mkdir()
        download_video(first, f"{base}/{CLIP}")
        assert first.staged == [] and not open_blob_store(settings).exists(staged_media_key(8))
        retry = TaskContext(settings=settings, workdir=tmp_path / "try2", job_id=8, attempt=2)
        retry.workdir.mkdir()
        path, info = download_video(retry, f"{base}/{CLIP}")
    assert path.stat().st_size == size and info.width == 426 and retry.staged == []


def test_a_retry_whose_first_try_kept_nothing_fetches_and_stages(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    with media_server(MEDIA / "video") as base:
        retry = TaskContext(settings=settings, workdir=tmp_path / "try2", job_id=9, attempt=2)
        retry.workdir.mkdir()
        download_video(retry, f"{base}/{CLIP}")
    assert retry.staged == [staged_media_key(9)] and open_blob_store(settings).exists(staged_media_key(9))


class _Staged(TaskResult):
    bytes: int
    width: int


def _staging_task(ctx: TaskContext, given: TaskInput, _opts: TaskOptions) -> _Staged:
    path, info = download_video(ctx, given.url)
    return _Staged(bytes=path.stat().st_size, width=info.width)


register(TaskSpec("test_staging", "video", _staging_task, result=_Staged))


def test_finishing_the_job_removes_its_staged_media(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    db = Database(settings.resolved_database_url)
    db.migrate()
    app_id = apps.create_app(db, "t").app_id
    with media_server(MEDIA / "video") as base:
        _, (job_id,) = jobs.create_jobs(db, app_id, [jobs.NewJob("test_staging", {"url": f"{base}/{CLIP}"})])
        assert run_job(db, settings, job_id, "w")
    job = jobs.get_job(db, job_id)
    assert job.state == JobState.COMPLETED, job.message
    assert not open_blob_store(settings).exists(staged_media_key(job_id))


def test_the_sweep_removes_staged_media_of_jobs_that_ended_without_their_worker(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    db = Database(settings.resolved_database_url)
    db.migrate()
    app_id = apps.create_app(db, "t").app_id
    _, (running, failed, waiting) = jobs.create_jobs(
        db, app_id, [jobs.NewJob("test_staging", {"url": "http://x/v"}) for _ in range(3)]
    )
    store = open_blob_store(settings)
    for job_id in (running, failed, waiting, 999_999):  # the last one's job does not exist
        store.put_bytes(staged_media_key(job_id), b"video")
    assert jobs.claim_job(db, running, "w", 60) is not None
    assert jobs.claim_job(db, failed, "w2", -1) is not None  # its worker died: the lease is already over
    recover_lost(db, max_attempts=1, deadline_s=3600)  # out of attempts: failed by recovery
    assert jobs.get_job(db, failed).state == JobState.FAILED
    assert sweep_staged_media(db, settings) == 2
    assert store.list("jobs") == sorted([staged_media_key(running), staged_media_key(waiting)])
    assert sweep_staged_media(db, Settings(data_dir=tmp_path)) == 0  # no shared store configured: nothing to do
