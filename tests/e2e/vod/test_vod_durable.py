"""AI jobs are the core's durable jobs: a server killed (-9) right after SubmitAIJob finishes the job once it is
started again, and the job keeps its UserData."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.e2e.vod.conftest import make_client
from tests.e2e.vod.test_vod_sdks import _register, _settled
from tests.support import live_server


def test_job_survives_a_killed_server(tmp_path_factory: pytest.TempPathFactory, vod_media: tuple[str, Path]) -> None:
    server = live_server(tmp_path_factory.mktemp("vod-durable"), allow_private_urls="true")
    creds = json.loads(server.cli("keys", "create", "--json"))
    server.start()
    try:
        vod = make_client("old", server, (creds["access_key_id"], creds["access_key_secret"]))
        media_id = _register(vod, vod_media[0], "video/asl_walk.mkv", "walk")
        job = vod.call("SubmitAIJob", MediaId=media_id, Types="AIMediaDNA", UserData='{"keep":"me"}')
        job_id = job["AIJobList"]["AIJob"][0]["JobId"]
        metas = json.dumps([{"FileURL": f"{vod_media[0]}/video/asl_want.mkv", "Title": "want"}])
        registering = vod.call("RegisterMedia", RegisterMetadatas=metas)["RegisteredMediaList"][0]["MediaId"]
        server.kill()
        server.start()
        assert _settled(vod, registering)["Status"] == "Normal"  # RegisterMedia's job is durable too
        deadline = time.monotonic() + 90
        while True:
            (listed,) = vod.call("ListAIJob", JobIds=job_id)["AIJobList"]["AIJob"]
            if listed["Status"] in ("success", "fail"):
                break
            assert time.monotonic() < deadline, listed
            time.sleep(0.3)
        assert listed["Status"] == "success" and json.loads(listed["UserData"]) == {"keep": "me"}
    finally:
        server.stop()
