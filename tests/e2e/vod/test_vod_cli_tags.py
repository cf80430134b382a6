"""The CLI's media and face libraries with smart tags: `medialens media add PATH --json`, `medialens faces add`,
then AIVideoTag names the person from the library and reads the banner's words with their times."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import MEDIA
from tests.e2e.vod.conftest import make_client
from tests.support import LiveServer
from tests.variants import slideshow


def test_cli_media_and_face_library(vod_server: LiveServer, access_key, tmp_path: Path) -> None:
    from tests import vod_variants as vv

    show = slideshow(
        [MEDIA / "image" / n for n in ("face_kit_harington_b.jpeg", "face_kit_harington_c.jpg")], tmp_path / "kit.mp4"
    )
    frames, rate = vv.frames_of(show)
    banner = vv.write(tmp_path / "kit_banner.mp4", (vv.banner(f) for f in frames), rate, 18)
    out = vod_server.cli("faces", "add", "Kit Harington", str(MEDIA / "image" / "face_kit_harington_a.jpeg"), "--json")
    assert json.loads(out)["name"] == "Kit Harington"
    media_id = json.loads(
        vod_server.cli("media", "add", str(banner), "--title", "kit", "--key", access_key[0], "--json")
    )["media_id"]
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all" * 100)
    with pytest.raises(subprocess.CalledProcessError):  # refused: the CLI exits non-zero, nothing registered
        vod_server.cli("media", "add", str(bad), "--key", access_key[0], "--json")

    vod = make_client("old", vod_server, access_key)
    assert vod.call("GetVideoInfo", VideoId=media_id)["Video"]["Title"] == "kit"
    job = vod.call(
        "SubmitAIJob", MediaId=media_id, Types="AIVideoTag", Config='{"AIVideoTag":{"AnalyseTypes":"face,ocr"}}'
    )
    job_id = job["AIJobList"]["AIJob"][0]["JobId"]
    deadline = time.monotonic() + 90
    while vod.call("ListAIJob", JobIds=job_id)["AIJobList"]["AIJob"][0]["Status"] not in ("success", "fail"):
        assert time.monotonic() < deadline
        time.sleep(0.3)
    tags = vod.call("GetAIVideoTagResult", MediaId=media_id)["VideoTagResult"]
    assert [p["Tag"] for p in tags["Person"]] == ["Kit Harington"]
    words = {k["Tag"]: k["Times"] for k in tags["Keyword"]}
    # the banner "BREAKING NEWS 24/7", read on the sampled frames (PP-OCRv5 keeps the space that v4 dropped)
    (word,) = [w for w in words if w.startswith("breaking")]
    assert any("news" in w for w in words), words
    times = np.array([int(t) for t in words[word]]) / 1000
    assert times.min() < 1.0 and times.max() > 2.5  # on screen for the whole 4 s
    assert tags["Category"] == []  # not asked for
