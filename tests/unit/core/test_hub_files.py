"""Links to the clips the Model Hub video services write: signed and expiring for a local blob store (the same
signing as VOD's covers), the object's URI for S3."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from medialens.config import Settings
from medialens.core import Core, hub_files
from medialens.core.vod import Vod


def test_local_links_are_signed_expiring_and_scoped_to_hub_files(tmp_path) -> None:
    core = Core(Settings(data_dir=tmp_path), None, None)  # type: ignore[arg-type]
    core.blobs().put_bytes("hub/clips/a.mp4", b"clip")
    core.blobs().put_bytes("vod/m/cover.jpg", b"cover")
    url = hub_files.link(core, "hub/clips/a.mp4", "http://h:1/")
    parts = urlsplit(url)
    assert url.startswith("http://h:1/modelhub/files/hub/clips/a.mp4?expires=")
    q = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert hub_files.read(core, "hub/clips/a.mp4", q["expires"], q["sig"]) == b"clip"
    assert hub_files.read(core, "hub/clips/a.mp4", q["expires"], q["sig"][:-1] + "0") is None
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
