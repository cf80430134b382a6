"""The queue paths in-process: every refusal in the Model Hub error shape, and watch over a websocket (the frames
decoded with our own message classes)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from medialens.app import create_app
from medialens.config import Settings
from medialens.protocols.modelhub.frames import DataFrameListProto, DataFrameProto
from tests import support


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str]]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("queue"), model_dir=support.ensure_models("ppocr-v4"))
    app = create_app(settings, run_workers=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, app.state.core.deploy_service("ocr", "reader").token


def _refused(r, status: int, words: str) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["success"] is False and body["error_code"] == status and words in body["error_msg"], body


def test_refusals(api) -> None:
    client, token = api
    auth = {"Authorization": token}
    sink = "/api/predict/reader/sink"
    _refused(client.get(sink, params={"_index_": "-1"}, headers=auth), 400, "_index_ must be an integer")
    _refused(client.get(sink, params={"_length_": "0"}, headers=auth), 400, "_length_ must be an integer from 1")
    _refused(client.get(sink, params={"_timeout_": "soon"}, headers=auth), 400, "_timeout_ must be a duration")
    _refused(client.get(sink, params={"_auto_delete_": "yes"}, headers=auth), 400, "true or false")
    _refused(client.get(sink, params={"_search_": "true", "_index_": "0"}, headers=auth), 400, "_index_")
    _refused(client.get(sink, params={"_search_": "true", "_index_": "99"}, headers=auth), 404, "no item 99")
    _refused(client.get(sink, params={"_watch_": "true"}, headers=auth), 400, "websocket")
    _refused(client.put(sink, params={"_indexes_": "1,x"}, headers=auth), 400, "_indexes_")
    _refused(client.delete(sink, headers=auth), 400, "_indexes_")
    _refused(client.delete(sink, params={"_indexes_": "1"}, headers={"Authorization": "nope"}), 401, "unauthorized")
    _refused(client.get("/api/predict/nobody/sink", headers=auth), 404, "not found")
    _refused(client.post("/api/predict/nobody/sink", content=b"x", headers=auth), 404, "not found")
    r = client.post("/api/predict/reader", content=b"{}", headers=auth | {"X-EAS-QueueService-Redis-Uid": "u"})
    assert r.status_code == 200 and r.text.isdigit() and len(r.headers["X-Eas-Queueservice-Request-Id"]) == 36
    big = b"x" * 20_000_000
    _refused(client.post(sink, content=big, headers=auth), 413, "limit")


def test_get_answers_protobuf_and_watch_streams_frames(api) -> None:
    client, token = api
    auth = {"Authorization": token}
    sink = "/api/predict/reader/sink"
    client.delete(sink, params={"_index_": "1000000", "_trunc_": "true"}, headers=auth)
    put = [client.post(sink, content=f"v{i}".encode(), params={"k": str(i)}, headers=auth) for i in range(3)]
    indexes = [int(r.text) for r in put]
    r = client.get(sink, params={"_index_": "0", "_length_": "5", "_timeout_": "0s", "k": "1"}, headers=auth)
    assert r.headers["content-type"] == "application/vnd.google.protobuf"
    (df,) = DataFrameListProto.FromString(r.content).index
    assert (df.index, df.data, df.tags["k"]) == (indexes[1], b"v1", "1")
    query = "_watch_=true&_index_=0&_window_=5&_index_only_=true&_auto_commit_=true"
    with client.websocket_connect(f"{sink}?{query}", headers=auth) as ws:
        got = [DataFrameProto.FromString(ws.receive_bytes()) for _ in range(3)]
    assert [(g.index, g.data) for g in got] == [(i, b"") for i in indexes]  # index only
    with (
        pytest.raises(WebSocketDisconnect),
        client.websocket_connect(f"{sink}?{query}", headers={"Authorization": "x"}),
    ):
        pass


def test_video_requests_take_play_duration_in_microseconds() -> None:
    from medialens.protocols.modelhub.errors import HubError
    from medialens.protocols.modelhub.routes import PARSERS

    parse = PARSERS["video_highlight"]
    assert parse({"input": {"url": "http://v"}}) == (parse({"input": {"url": "http://v"}})[0], {})
    assert parse({"input": {"url": "http://v", "play_duration": "3000000"}})[1] == {"play_duration_s": 3.0}
    assert parse({"input": {"url": "http://v", "play_duration": 2.5e6}})[1] == {"play_duration_s": 2.5}
    assert parse({"input": {"url": "http://v", "play_duration": ""}})[1] == {}
    for bad in ({"url": "http://v", "play_duration": -1}, {"url": "http://v", "play_duration": True},
                {"url": "http://v", "play_duration": "3 s"}, {"url": 5}, {}):  # fmt: skip
        with pytest.raises(HubError) as err:
            parse({"input": bad})
        assert err.value.status == 400
    with pytest.raises(HubError, match="input is missing"):
        parse({"url": "http://v"})
