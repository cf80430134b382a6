"""Asynchronous inference through the official ``eas-prediction`` ``QueueClient`` (WIRE.md §D.2) against a live
server on loopback, and the first video service, ``video_highlight`` (by ``QueueClient`` and ``PredictClient``):
put -> get by request id, put -> watch, the queue operations, a wrong token, a request the service cannot read, a
killed worker, and the clip itself (5 s, decodes, its link fetchable, expired and forged links refused); and
``video_super_resolution`` (offline: the classical method) by both clients."""

from __future__ import annotations

import base64
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import av
import cv2
import httpx
import numpy as np
import pytest

from medialens.config import Settings
from medialens.core import file_urls
from tests.conftest import MEDIA, require_eas_client
from tests.e2e.eas_queue_client import QueueClients
from tests.support import LiveServer, ensure_models, live_server, media_server
from tests.variants import read_frames, write_video

require_eas_client()  # the client is not imported here: see eas_client.py

SERVICES = ("video_highlight", "image_classification", "video_super_resolution")
MODELS = ("dlib-face", "mobilenet-v2")


def _deploy(srv: LiveServer) -> dict[str, str]:
    return srv.deploy(*SERVICES)


@pytest.fixture(scope="module")
def videos() -> Iterator[str]:
    with media_server(MEDIA / "video") as url:
        yield url


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    ensure_models(*MODELS)
    srv = live_server(tmp_path_factory.mktemp("queue"), allow_private_urls="true")
    tokens = _deploy(srv)
    srv.start()
    yield srv, tokens
    srv.stop()


@pytest.fixture(scope="module")
def eas(hub) -> Iterator[QueueClients]:
    clients = QueueClients(hub[0].base_url)
    yield clients
    clients.close()


def _answer(frame: tuple[int, bytes, dict[str, str], str]) -> dict:
    return json.loads(frame[1])


def _clip(url: str) -> tuple[float, int]:
    """(duration in seconds, frames decoded) of the clip a link serves."""
    r = httpx.get(url, timeout=30)
    assert r.status_code == 200 and r.headers["content-type"] == "video/mp4", r.text[:200]
    with av.open(io.BytesIO(r.content)) as c:
        frames = sum(1 for _ in c.decode(video=0))
        return c.duration / 1e6, frames


def test_put_then_get_by_request_id_gives_a_five_second_highlight(hub, eas, videos) -> None:
    srv, tokens = hub
    token = tokens["video_highlight"]
    body = json.dumps({"input": {"url": f"{videos}/basketball_gym.mp4"}}).encode()
    index, request_id = eas.call("video_highlight", token, "put", body, tags={"mine": "yes"})
    assert int(index) >= 1 and len(request_id) == 36
    (frame,) = eas.call("video_highlight/sink", token, "get", request_id=request_id, timeout="50s")
    assert frame[2]["requestId"] == request_id and frame[2]["mine"] == "yes" and frame[3] == ""
    answer = _answer(frame)
    assert answer["success"] is True and answer["result"] == "" and answer["request_id"] == request_id
    duration, frames = _clip(answer["oss_path"])
    assert abs(duration - 5.0) <= 0.5 and frames >= 100  # 30 fps source
    # auto_delete (the client's default): the answer was taken
    assert eas.call("video_highlight/sink", token, "get", request_id=request_id, timeout="0s") == []

    # the link is signed and expires: an altered signature, another key or an expired link are refused
    parts = urlsplit(answer["oss_path"])
    key = parts.path.removeprefix("/modelhub/files/")
    q = {k: v[0] for k, v in parse_qs(parts.query).items()}
    base = f"{srv.base_url}/modelhub/files"
    forged = httpx.get(f"{base}/{key}", params={"expires": q["expires"], "sig": "0" * 64})
    assert forged.status_code == 403 and forged.json()["success"] is False
    other = httpx.get(f"{base}/hub/clips/other.mp4", params=q)
    assert other.status_code == 403
    outside = httpx.get(f"{base}/vod/x/cover.jpg", params=q)
    assert outside.status_code == 403
    settings = Settings(data_dir=Path(srv.env["MEDIALENS_DATA_DIR"]))
    expired = file_urls.signed_query(settings, key, -10)
    assert httpx.get(f"{base}/{key}?{expired}").status_code == 403
    assert httpx.get(f"{base}/{key}?{file_urls.signed_query(settings, key, 60)}").status_code == 200


def test_put_then_watch_streams_the_answers(hub, eas, videos) -> None:
    _, tokens = hub
    token = tokens["video_highlight"]
    body = {"input": {"url": f"{videos}/basketball_gym.mp4", "play_duration": "7000000"}}
    _, video_id = eas.call("video_highlight", token, "put", json.dumps(body).encode())
    (frame,) = eas.watch("video_highlight/sink", token, 0, 5, auto_commit=True, count=1)
    assert frame[2]["requestId"] == video_id
    answer = _answer(frame)
    assert answer["success"] is True and abs(_clip(answer["oss_path"])[0] - 5.0) <= 0.5
    # an image service's request (its image travels inside the job), watched the same way
    token = tokens["image_classification"]
    image = base64.b64encode((MEDIA / "image" / "skimage_cat_chelsea.png").read_bytes()).decode()
    _, image_id = eas.call("image_classification", token, "put", json.dumps({"image": image}).encode())
    (frame,) = eas.watch("image_classification/sink", token, 0, 5, auto_commit=True, count=1)
    assert frame[2]["requestId"] == image_id and "cat" in _answer(frame)["class_name"]
    deadline = time.monotonic() + 10
    while (attrs := eas.call("image_classification/sink", token, "attributes"))["stream.length"] != "0":
        assert time.monotonic() < deadline, attrs  # auto-commit removes what was sent
        time.sleep(0.2)


def test_queue_operations(hub, eas) -> None:
    _, tokens = hub
    token, sink = tokens["image_classification"], "image_classification/sink"
    attrs = eas.call(sink, token, "attributes")
    if "stream.lastEntry" in attrs:
        eas.call(sink, token, "truncate", int(attrs["stream.lastEntry"]) + 1)
    indexes = [int(eas.call(sink, token, "put", f"item {i}".encode())[0]) for i in range(4)]
    assert indexes == sorted(indexes) and len(set(indexes)) == 4
    attrs = eas.call(sink, token, "attributes")
    assert attrs["stream.length"] == "4" and attrs["stream.lastEntry"] == str(indexes[-1])
    found = eas.call(sink, token, "search", indexes[1])  # EAS's own shape: one item ahead, nobody handles it
    assert found == {"ConsumerId": "", "IsPending": False, "WaitCount": 1}
    assert eas.call(sink, token, "search", indexes[-1] + 100) == {}  # the client answers {} for what is not there
    got = eas.call(sink, token, "get", index=indexes[1], length=2, timeout="0s", auto_delete=False)
    assert [(f[0], f[1]) for f in got] == [(indexes[1], b"item 1"), (indexes[2], b"item 2")]
    assert eas.call(sink, token, "commit", indexes[0]) is not None
    assert eas.call(sink, token, "delete", [indexes[1]]) == "OK"
    assert eas.call(sink, token, "attributes")["stream.length"] == "2"
    (first,) = eas.call(sink, token, "get", timeout="0s", auto_delete=False)
    assert first[0] == indexes[2]
    eas.call(sink, token, "truncate", indexes[3] + 1)
    attrs = eas.call(sink, token, "attributes")
    assert attrs["stream.length"] == "0" and "stream.lastEntry" not in attrs


def test_commit_acknowledges_what_was_read_and_it_is_not_delivered_again(hub, eas) -> None:
    """put -> get without auto-delete (it stays: read again) -> commit -> gone; a watcher that leaves without
    committing has its item delivered to the next one, a committed one is not."""
    _, tokens = hub
    token, sink = tokens["image_classification"], "image_classification/sink"
    attrs = eas.call(sink, token, "attributes")
    if "stream.lastEntry" in attrs:
        eas.call(sink, token, "truncate", int(attrs["stream.lastEntry"]) + 1)
    index, request_id = eas.call(sink, token, "put", b"result 1")
    for _ in range(2):  # not auto-deleted: there until committed
        (got,) = eas.call(sink, token, "get", request_id=request_id, timeout="0s", auto_delete=False)
        assert (str(got[0]), got[1]) == (index, b"result 1")
    assert eas.call(sink, token, "commit", int(index)) == "OK"
    assert eas.call(sink, token, "get", request_id=request_id, timeout="0s", auto_delete=False) == []
    assert eas.call(sink, token, "get", index=int(index), timeout="0s", auto_delete=False) == []
    assert eas.call(sink, token, "search", int(index)) == {}  # the client's answer for an item not there
    assert eas.call(sink, token, "attributes")["stream.length"] == "0"

    two = [int(eas.call(sink, token, "put", f"result {i}".encode())[0]) for i in (2, 3)]
    seen = eas.watch(sink, token, 0, 5, auto_commit=False, count=2, deadline_s=20)
    assert [f[0] for f in seen] == two  # the watcher left without committing
    eas.call(sink, token, "commit", two[0])
    again = eas.watch(sink, token, 0, 5, auto_commit=False, count=2, deadline_s=3)
    assert [f[0] for f in again] == [two[1]]  # the uncommitted one again, the committed one never
    assert eas.call(sink, token, "attributes")["stream.length"] == "1"
    eas.call(sink, token, "delete", [two[1]])


def test_a_request_the_service_cannot_read_lands_in_the_sink_failed(hub, eas, videos) -> None:
    _, tokens = hub
    token = tokens["video_highlight"]
    for body, words in (
        (b"not json", "not valid JSON"),
        (json.dumps({"input": {"url": f"{videos}/x.mp4", "play_duration": "soon"}}).encode(), "play_duration"),
        (json.dumps({"input": {"url": f"{videos}/no_such_file.mp4"}}).encode(), "failed to download video"),
    ):
        _, request_id = eas.call("video_highlight", token, "put", body)
        (frame,) = eas.call("video_highlight/sink", token, "get", request_id=request_id, timeout="30s")
        answer = _answer(frame)
        assert answer["success"] is False and answer["error_code"] == 400 and words in answer["error_msg"], answer
        assert words in frame[3] and answer["request_id"] == request_id


def test_a_wrong_token_is_refused_with_401(hub, eas) -> None:
    _, tokens = hub
    for op, args in (("put", (b"{}",)), ("get", ()), ("attributes", ()), ("truncate", (5,))):
        kind, status, message = eas.call("video_highlight", "wrong==", op, *args)
        assert (kind, status) == ("error", 401), (op, message)
        body = json.loads(message)
        assert body["error_code"] == 401 and body["success"] is False and "unauthorized" in body["error_msg"]
    other = tokens["image_classification"]  # another service's token is no better
    assert eas.call("video_highlight/sink", other, "get", timeout="0s")[:2] == ("error", 401)
    refused = eas.watch("video_highlight/sink", "wrong==", deadline_s=10)
    assert refused[0] == "error" and refused[1] == 401 and '"error_code":401' in refused[2], refused
    assert eas.call("no_such_service", tokens["video_highlight"], "get", timeout="0s")[:2] == ("error", 404)


HUG_AT_S = 6.5
"""Where the hug starts in the spliced video: off the whole seconds the highlight is scored on."""


@pytest.fixture(scope="module")
def hug_between_stills(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, np.ndarray, int]]:
    """6.5 s of a still (a bottle line), the whole of two_men_hugging.mp4 (labelled: two men walk and hug, 2.4 s
    decoded), 8 s of the still again, at 30 fps and 426 x 240; served over HTTP. Yields (URL, still, hug frames)."""
    still = cv2.resize(next(read_frames(MEDIA / "video" / "intel_bottles.mp4"))[0], (426, 240))
    hug = [cv2.resize(f, (426, 240)) for f, _ in read_frames(MEDIA / "video" / "two_men_hugging.mp4")]
    frames = [still] * int(HUG_AT_S * 30) + hug + [still] * 240
    root = tmp_path_factory.mktemp("hug")
    write_video(root / "hug.mp4", iter(frames), 30)
    with media_server(root) as url:
        yield f"{url}/hug.mp4", still, len(hug)


def test_the_highlight_covers_the_labelled_hug(hub, eas, hug_between_stills) -> None:
    """No label says when something happens, so the event is placed: the clip must hold every frame of the hug
    (frames unlike the still) and last five seconds."""
    _, tokens = hub
    url, still, hug_frames = hug_between_stills
    status, raw = eas.predict(
        "video_highlight", tokens["video_highlight"], json.dumps({"input": {"url": url}}).encode()
    )
    assert status == 200, raw
    r = httpx.get(json.loads(raw)["oss_path"], timeout=30)
    with av.open(io.BytesIO(r.content)) as c:
        duration = c.duration / 1e6
        unlike = [float(np.abs(f.to_ndarray(format="rgb24").astype(int) - still).mean()) for f in c.decode(video=0)]
    moving = [d > 10 for d in unlike]
    assert abs(duration - 5.0) <= 0.1 and len(moving) >= 145
    assert sum(moving) >= hug_frames - 1, (sum(moving), hug_frames)  # the whole hug is inside the window
    assert max(d for d, m in zip(unlike, moving, strict=True) if not m) < 4  # the rest is the still, re-encoded


def test_video_highlight_by_predict_client(hub, eas, videos) -> None:
    _, tokens = hub
    body = {"input": {"url": f"{videos}/intel_cars_parking_lot.mp4", "play_duration": 12_000_000}}
    status, raw = eas.predict("video_highlight", tokens["video_highlight"], json.dumps(body).encode())
    assert status == 200, raw
    answer = json.loads(raw)
    assert answer["success"] is True and set(answer) == {"oss_path", "result", "success", "request_id"}
    duration, _ = _clip(answer["oss_path"])
    assert abs(duration - 5.0) <= 0.5
    short = {"input": {"url": f"{videos}/intel_cars_parking_lot.mp4", "play_duration": "3000000"}}
    status, raw = eas.predict("video_highlight", tokens["video_highlight"], json.dumps(short).encode())
    assert status == 200, raw
    duration, _ = _clip(json.loads(raw)["oss_path"])
    assert abs(duration - 3.0) <= 0.5  # shorter than five seconds: the whole span analysed
    status, raw = eas.predict("video_highlight", tokens["video_highlight"], b'{"input": {}}')
    assert status == 400 and json.loads(raw)["error_msg"] == "input.url is missing"


def test_a_queued_request_survives_a_killed_worker(tmp_path_factory: pytest.TempPathFactory, videos) -> None:
    """kill -9 while the request runs (its search state says so); after the restart recovery runs it again."""
    ensure_models(*MODELS)
    srv = live_server(tmp_path_factory.mktemp("queue-kill"), allow_private_urls="true", workers="1")
    token = _deploy(srv)["video_highlight"]
    srv.start()
    eas = QueueClients(srv.base_url)
    try:
        body = json.dumps({"input": {"url": f"{videos}/intel_bottles.mp4", "play_duration": 12e6}}).encode()
        index, request_id = eas.call("video_highlight", token, "put", body)
        deadline = time.monotonic() + 60
        while not (found := eas.call("video_highlight", token, "search", int(index))).get("IsPending"):
            assert time.monotonic() < deadline and found, found
            time.sleep(0.1)
        assert found["WaitCount"] == 0 and found["ConsumerId"]  # the worker running it
        srv.kill()
        srv.start()
        (frame,) = eas.call("video_highlight/sink", token, "get", request_id=request_id, timeout="55s", retries=2)
        answer = _answer(frame)
        assert answer["success"] is True, answer
        assert abs(_clip(answer["oss_path"])[0] - 5.0) <= 0.5
    finally:
        eas.close()
        srv.stop()


def _upscaled(url: str) -> tuple[float, int, int, bool]:
    """(duration in seconds, width, height, has sound) of the clip a link serves, every frame decoded."""
    r = httpx.get(url, timeout=30)
    assert r.status_code == 200 and r.headers["content-type"] == "video/mp4", r.text[:200]
    with av.open(io.BytesIO(r.content)) as c:
        v = c.streams.video[0]
        assert sum(1 for _ in c.decode(video=0)) > 0
        return c.duration / 1e6, v.width, v.height, bool(c.streams.audio)


def test_video_super_resolution_by_queue_client(hub, eas, videos) -> None:
    _, tokens = hub
    token = tokens["video_super_resolution"]
    body = json.dumps({"input": {"url": f"{videos}/basketball_gym.mp4", "play_duration": "2000000"}}).encode()
    _, request_id = eas.call("video_super_resolution", token, "put", body)
    (frame,) = eas.call("video_super_resolution/sink", token, "get", request_id=request_id, timeout="50s")
    answer = _answer(frame)
    assert answer["success"] is True and answer["request_id"] == request_id, answer
    assert answer["result"].startswith("classical super-resolution (no model): Lanczos x2 + unsharp mask")
    duration, width, height, _ = _upscaled(answer["oss_path"])
    assert (width, height) == (852, 480) and abs(duration - 2.0) <= 0.1  # 426 x 240 source


def test_video_super_resolution_by_predict_client(hub, eas, videos) -> None:
    _, tokens = hub
    token = tokens["video_super_resolution"]
    body = {"input": {"url": f"{videos}/eye_makeup.avi"}}  # the whole file (6.56 s), with its sound
    status, raw = eas.predict("video_super_resolution", token, json.dumps(body).encode())
    assert status == 200, raw
    answer = json.loads(raw)
    assert set(answer) == {"oss_path", "result", "success", "request_id"} and answer["success"] is True
    duration, width, height, sound = _upscaled(answer["oss_path"])
    assert (width, height) == (640, 480) and abs(duration - 6.56) <= 0.1 and sound
    status, raw = eas.predict("video_super_resolution", token, b'{"input": {"url": "%s/x.mp4", "play_duration": -1}}'
                              % videos.encode())  # fmt: skip
    assert status == 400 and "play_duration" in json.loads(raw)["error_msg"]
