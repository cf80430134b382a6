"""A Celery worker's task (``medialens.run_job``, called as the worker calls it) honours a cancellation: a real
video analysis stops at its next frame and the task returns, its worker thread free for the next message."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from tests import support
from tests.conftest import MEDIA


def test_celery_task_stops_a_cancelled_analysis(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from medialens.blobs import open_blob_store
    from medialens.config import get_settings
    from medialens.core import uploads
    from medialens.jobs import celery_app
    from medialens.store import jobs as job_store
    from medialens.store.apps import create_app

    monkeypatch.setenv("MEDIALENS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MEDIALENS_MODEL_DIR", str(support.ensure_models("niqe")))
    monkeypatch.setenv("MEDIALENS_VIDEO_SAMPLE_FPS", "30")  # every frame of a 40 s video: most of a minute of work
    monkeypatch.setenv("MEDIALENS_VIDEO_MAX_FRAMES", "1200")
    get_settings.cache_clear()
    monkeypatch.setattr(celery_app, "_db", None)
    try:
        db = celery_app.worker_db()
        app_id = create_app(db, "c").app_id
        data = (MEDIA / "video" / "intel_bottles.mp4").read_bytes()
        _, key = uploads.put_media(open_blob_store(get_settings()), app_id, data)
        _, (job_id,) = job_store.create_jobs(db, app_id, [job_store.NewJob("video_quality", {"media": key})])

        outcome: list[bool] = []
        worker = threading.Thread(target=lambda: outcome.append(celery_app.run_job_task(job_id)), daemon=True)
        worker.start()
        deadline = time.monotonic() + 60
        while not (job_store.get_job(db, job_id).message or "").startswith("video analyzing"):
            assert worker.is_alive() and time.monotonic() < deadline, job_store.get_job(db, job_id).message
            time.sleep(0.05)
        assert job_store.cancel_job(db, job_id, app_id)
        worker.join(15)
        assert not worker.is_alive(), "the cancelled analysis went on"
        assert outcome == [True]
        job = job_store.get_job(db, job_id)
        assert (job.state, job.message, job.result) == (3, "cancelled", None)
    finally:
        get_settings.cache_clear()
