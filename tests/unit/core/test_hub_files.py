"""Links to the clips the Model Hub video services write: signed and expiring for a local blob store (the same
signing as VOD's covers), the object's URI for S3."""

from __future__ import annotations

import os
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from fastapi import FastAPI
from fastapi.testclient import TestClient

from medialens.config import Settings
from medialens.core import Core, hub_files
from medialens.core.vod import Vod
from medialens.jobs import recovery
from medialens.protocols.modelhub.files import files_router
from medialens.tasks.hub_clips import sweep_clips


def test_local_links_are_signed_expiring_and_scoped_to_hub_files(tmp_path) -> None:
    core = Core(Settings(data_dir=tmp_path), None, None)  # type: ignore[arg-type]
    core.blobs().put_bytes("hub/clips/a.mp4", b"clip")
    core.blobs().put_bytes("vod/m/cover.jpg", b"cover")
    url = hub_files.link(core, "hub/clips/a.mp4", "http://h:1/")
    parts = urlsplit(url)
    assert url.startswith("http://h:1/modelhub/files/hub/clips/a.mp4?expires=")
    q = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert hub_files.read(core, "hub/clips/a.mp4", q["expires"], q["sig"]) == b"clip"
    tampered = q["sig"][:-1] + ("1" if q["sig"].endswith("0") else "0")
    assert hub_files.read(core, "hub/clips/a.mp4", q["expires"], tampered) is None
    assert hub_files.read(core, "hub/clips/a.mp4", str(int(q["expires"]) + 1), q["sig"]) is None
    expired = parse_qs(hub_files.signed_query(core, "hub/clips/a.mp4", 60, now=0))
    assert hub_files.read(core, "hub/clips/a.mp4", expired["expires"][0], expired["sig"][0]) is None
    # a VOD link is no Model Hub link, though both are signed alike
    vod = parse_qs(Vod(core).file_query("vod/m/cover.jpg"))
    assert hub_files.read(core, "vod/m/cover.jpg", vod["expires"][0], vod["sig"][0]) is None
    assert Vod(core).signed_file("vod/m/cover.jpg", vod["expires"][0], vod["sig"][0]) == b"cover"
    traversal = parse_qs(hub_files.signed_query(core, "hub/../vod/m/cover.jpg", 60))
    assert hub_files.read(core, "hub/../vod/m/cover.jpg", traversal["expires"][0], traversal["sig"][0]) is None


def test_s3_links_are_the_object_uri(tmp_path) -> None:
    core = Core(Settings(data_dir=tmp_path, blob_url="s3://clips-bucket/medialens"), None, None)  # type: ignore[arg-type]
    assert hub_files.link(core, "hub/clips/a.mp4", "http://h:1") == "s3://clips-bucket/medialens/hub/clips/a.mp4"


def _fetch(core: Core, url: str) -> tuple[int, dict | bytes]:
    """GET a link through the route that serves them."""
    app = FastAPI()
    app.include_router(files_router)
    app.state.core = core
    parts = urlsplit(url)
    r = TestClient(app).get(f"{parts.path}?{parts.query}")
    return r.status_code, (r.json() if r.headers["content-type"] == "application/json" else r.content)


def test_clips_expire_with_their_links(tmp_path) -> None:
    """A clip older than hub_clip_ttl_s is removed (a link to it, even a fresh one, then answers the protocol's
    403); a fresh clip and whatever is not a clip stay. The first recovery pass sweeps, the next ones wait."""
    settings = Settings(data_dir=tmp_path, hub_clip_ttl_s=3600)
    core = Core(settings, None, None)  # type: ignore[arg-type]
    store = core.blobs()
    for key in ("hub/clips/old.mp4", "hub/super_resolution/old.mp4", "hub/clips/new.mp4", "jobs/1/video"):
        store.put_bytes(key, b"clip")
    two_hours_ago = time.time() - 7200
    for key in ("hub/clips/old.mp4", "hub/super_resolution/old.mp4", "jobs/1/video"):
        os.utime(Path(store.root) / key, (two_hours_ago, two_hours_ago))
    old_link, new_link = (hub_files.link(core, f"hub/clips/{n}.mp4", "http://h:1") for n in ("old", "new"))
    expires = int(parse_qs(urlsplit(new_link).query)["expires"][0])
    assert abs(expires - (time.time() + 3600)) < 60  # the link lives as long as the clip
    assert _fetch(core, old_link) == (200, b"clip")

    recovery._last_clip_sweep = None
    assert recovery.sweep_hub_clips(settings) == 2
    assert store.list("") == ["hub/clips/new.mp4", "jobs/1/video"]
    status, body = _fetch(core, old_link)
    assert status == 403 and body == {
        "success": False,
        "error_code": 403,
        "error_msg": "the link is not valid or has expired",
    }
    assert _fetch(core, new_link) == (200, b"clip")
    store.put_bytes("hub/clips/later.mp4", b"clip")
    os.utime(Path(store.root) / "hub/clips/later.mp4", (two_hours_ago, two_hours_ago))
    assert recovery.sweep_hub_clips(settings) == 0  # swept less than hub_clip_sweep_s ago: not yet
    assert sweep_clips(settings) == 1 and not store.exists("hub/clips/later.mp4")  # as a new clip's write does
