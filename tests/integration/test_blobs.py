"""The blob store: a local folder and S3 (moto server on loopback)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from medialens.blobs import BlobStore, open_blob_store
from medialens.config import Settings
from medialens.tasks.hub_clips import sweep_clips


def _exercise(store: BlobStore, tmp_path: Path) -> None:
    store.put_bytes("jobs/1/result.json", b'{"ok": true}')
    assert store.exists("jobs/1/result.json") and store.get_bytes("jobs/1/result.json") == b'{"ok": true}'
    src = tmp_path / "video.bin"
    src.write_bytes(b"x" * 100_000)
    store.put_file("jobs/1/video", src)
    assert store.get_file("jobs/1/video", tmp_path / "down" / "v").read_bytes() == src.read_bytes()
    assert store.list("jobs") == ["jobs/1/result.json", "jobs/1/video"]

    store.delete("jobs")
    assert store.list("jobs") == [] and not store.exists("jobs/1/video")
    with pytest.raises(FileNotFoundError):
        store.get_bytes("jobs/1/result.json")
    with pytest.raises(ValueError):
        store.put_bytes("../escape", b"")


def test_local_blob_store(tmp_path: Path) -> None:
    store = open_blob_store(Settings(data_dir=tmp_path))
    assert store.is_local and Path(store.root) == tmp_path / "blobs" / "store"
    _exercise(store, tmp_path)


def test_s3_blob_store_on_moto(s3, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, blob_url=f"s3://{s3.bucket}/unit", s3_endpoint_url=s3.endpoint)
    store = open_blob_store(settings)
    assert not store.is_local
    _exercise(store, tmp_path)


def test_expired_clips_are_swept_from_s3(s3, tmp_path: Path) -> None:
    """The clip sweep reads S3's LastModified: a clip is kept until hub_clip_ttl_s has passed, then removed."""
    settings = Settings(
        data_dir=tmp_path, blob_url=f"s3://{s3.bucket}/sweep", s3_endpoint_url=s3.endpoint, hub_clip_ttl_s=3600
    )
    store = open_blob_store(settings)
    store.put_bytes("hub/clips/job-1.mp4", b"clip")
    store.put_bytes("jobs/1/video", b"not a clip")
    (written,) = store.modified("hub/clips").values()
    assert abs(written - time.time()) < 300
    assert sweep_clips(settings, now=time.time() + 3000) == 0 and store.exists("hub/clips/job-1.mp4")
    assert sweep_clips(settings, now=time.time() + 4000) == 1 and not store.exists("hub/clips/job-1.mp4")
    assert store.list("") == ["jobs/1/video"]
