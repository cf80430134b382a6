"""Event notification: SetMessageCallback / GetMessageCallback through every client, and a finished AI job POSTed
to the callback signed as VOD signs HTTP callbacks, retried after a failure."""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
import time
from pathlib import Path
from typing import ClassVar

import pytest

from tests.e2e.vod.conftest import CLIENTS, VodCallError, make_client
from tests.e2e.vod.test_vod_sdks import _register
from tests.support import LiveServer


class Receiver(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[dict, dict]]] = []
    fail_first = True

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Receiver.received.append((dict(self.headers), body))
        status = 500 if Receiver.fail_first else 200
        Receiver.fail_first = False
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_args) -> None:
        pass


@pytest.fixture
def receiver():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Receiver.received, Receiver.fail_first = [], True
    yield f"http://127.0.0.1:{server.server_address[1]}/vod-events"
    server.shutdown()


def test_set_and_get_callback_every_client(vod_server: LiveServer, access_key, receiver: str) -> None:
    for kind in CLIENTS:
        vod = make_client(kind, vod_server, access_key)
        vod.call("SetMessageCallback", CallbackURL=f"{receiver}?{kind}", EventTypeList="ALL", AuthSwitch="off")
        got = vod.call("GetMessageCallback")["MessageCallback"]
        assert got["CallbackURL"] == f"{receiver}?{kind}" and got["AuthSwitch"] == "off"
        with pytest.raises(VodCallError) as err:
            vod.call("SetMessageCallback", CallbackURL="ftp://example.com/x")
        assert err.value.code == "InvalidParameter.CallbackURL"


def test_finished_job_is_posted_signed_and_retried(
    vod_server: LiveServer, access_key, receiver: str, vod_media: tuple[str, Path]
) -> None:
    vod = make_client("acs3", vod_server, access_key)
    vod.call(
        "SetMessageCallback",
        CallbackURL=receiver,
        EventTypeList="AIMediaDNAComplete",
        AuthSwitch="on",
        AuthKey="k3y-for-tests",
    )
    media_id = _register(vod, vod_media[0], "video/asl_hungry.mkv", "hungry")
    job = vod.call("SubmitAIJob", MediaId=media_id, Types="AIMediaDNA", UserData='{"Extend":{"x":"y"}}')
    job_id = job["AIJobList"]["AIJob"][0]["JobId"]
    deadline = time.monotonic() + 60
    while len(Receiver.received) < 2:  # the first try is answered 500, the retry comes after the backoff
        assert time.monotonic() < deadline, Receiver.received
        time.sleep(0.2)
    headers, body = Receiver.received[-1]
    assert body["EventType"] == "AIMediaDNAComplete" and body["JobId"] == job_id and body["MediaId"] == media_id
    assert body["Status"] == "success" and json.loads(body["UserData"]) == {"Extend": {"x": "y"}}
    ts = headers["X-VOD-TIMESTAMP"]
    expected = hashlib.md5(f"{receiver}|{ts}|k3y-for-tests".encode()).hexdigest()
    assert headers["X-VOD-SIGNATURE"] == expected
    assert Receiver.received[0][1] == body  # the same event, once more
    time.sleep(1.0)
    assert len(Receiver.received) == 2  # delivered: not sent again
