"""VOD RegisterMedia in the background (core level, jobs run by hand): a medium exists at once as Uploading; its
job makes it Normal with size, length and cover, or UploadFail with the reason and no file kept; a URL that cannot
be fetched at all is refused at once; deleting a medium still registering cancels its job and keeps nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from medialens.blobs import open_blob_store
from medialens.config import Settings
from medialens.core import BadMedia, Core
from medialens.core.vod import MediaNotReady, Vod
from medialens.jobs.runner import run_job
from medialens.store import jobs as job_store
from medialens.store import video_index as vs
from medialens.store import vod as vod_store
from medialens.store.db import Database
from tests.conftest import MEDIA
from tests.support import media_server


@pytest.fixture
def vod(tmp_path: Path):
    settings = Settings(data_dir=tmp_path, allow_private_urls=True)
    db = Database(settings.resolved_database_url)  # the database the tasks open too
    db.migrate()
    _key, row = vs.create_api_key(db)
    return Vod(Core(settings, db, None)), row.app_id


def _run(vod: Vod, media_id: str) -> None:
    item = vod_store.get_media(vod.db, media_id, None)
    assert run_job(vod.db, vod.settings, item.register_job_id, "w")


def test_registered_at_once_then_normal_or_upload_fail(vod, tmp_path: Path) -> None:
    vod, owner = vod
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "bird.mkv").symlink_to(MEDIA / "video" / "asl_bird.mkv")
    (tmp_path / "www" / "bad.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 100)
    store = open_blob_store(vod.settings)
    with media_server(tmp_path / "www") as base:
        good = vod.start_registration(owner, f"{base}/bird.mkv", "bird")
        bad = vod.start_registration(owner, f"{base}/bad.mp4")
        assert (good.status, good.duration_s, good.cover_key) == ("Uploading", 0.0, None)
        with pytest.raises(MediaNotReady):
            vod.submit_ai_jobs(owner, good.media_id, ["AIMediaDNA"], {}, "")
        _run(vod, good.media_id)
        _run(vod, bad.media_id)
    done = vod.media(owner, good.media_id)
    assert done.status == "Normal" and done.duration_s == pytest.approx(2.1, abs=0.2) and done.size == 153984
    assert store.exists(f"vod/{good.media_id}/source") and store.exists(done.cover_key)
    failed = vod.media(owner, bad.media_id)
    assert failed.status == "UploadFail" and failed.status_message and failed.duration_s == 0.0
    assert store.list(f"vod/{bad.media_id}") == []
    listed, total = vod.list_media(owner, page=1, size=10)
    assert total == 2 and {m.status for m in listed} == {"Normal", "UploadFail"}


def test_unfetchable_urls_are_refused_at_once(vod) -> None:
    vod, owner = vod
    for url in ("ftp://example.com/a.mp4", "http://user:pw@example.com/a.mp4", "not a url"):
        with pytest.raises(BadMedia):
            vod.start_registration(owner, url)
    assert vod.list_media(owner, page=1, size=10)[1] == 0


def test_deleting_a_medium_still_registering_cancels_its_job(vod, tmp_path: Path) -> None:
    vod, owner = vod
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "bird.mkv").symlink_to(MEDIA / "video" / "asl_bird.mkv")
    with media_server(tmp_path / "www") as base:
        media = vod.start_registration(owner, f"{base}/bird.mkv")
        job_id = vod_store.get_media(vod.db, media.media_id, None).register_job_id
        assert vod.delete_media(owner, media.media_id)
        assert job_store.get_job(vod.db, job_id).message == job_store.CANCELLED
        assert not run_job(vod.db, vod.settings, job_id, "w")  # nothing left to run
    assert open_blob_store(vod.settings).list(f"vod/{media.media_id}") == []


def test_only_the_registration_job_finishes_its_medium(vod, tmp_path: Path) -> None:
    """A vod_register job submitted some other way (another job id) cannot fill in someone's medium."""
    from medialens.core.service import JobRequest

    vod, owner = vod
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "bird.mkv").symlink_to(MEDIA / "video" / "asl_bird.mkv")
    with media_server(tmp_path / "www") as base:
        media = vod.start_registration(owner, f"{base}/bird.mkv")
        opts = vod.core.options("vod_register", {"media_id": media.media_id, "account": owner})
        _, (other,) = vod.core.submit(owner, [JobRequest("vod_register", opts, url=f"{base}/bird.mkv")])
        assert run_job(vod.db, vod.settings, other, "w")
    assert job_store.get_job(vod.db, other).state == 3  # failed: not its medium to finish
    assert vod.media(owner, media.media_id).status == "Uploading"
    assert open_blob_store(vod.settings).list(f"vod/{media.media_id}") == []
