"""Twelve Labs endpoints in-process: bodies are read no further than their limit, listings sort only by known keys."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from medialens.app import create_app
from medialens.config import Settings
from medialens.store.video_index import create_api_key


@pytest.fixture
def tl(tmp_path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    settings = Settings(data_dir=tmp_path, model_dir=tmp_path / "models", max_request_bytes=4096, video_max_bytes=8192)
    app = create_app(settings, run_workers=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        key, _ = create_api_key(app.state.core.db)
        yield client, {"x-api-key": key}


def _chunks(total: int) -> Iterator[bytes]:
    for _ in range(0, total, 1024):
        yield b"{" * 1024


def test_bodies_over_the_limit_are_413_in_the_service_shape(tl) -> None:
    client, key = tl
    for r in (
        client.post("/v1.2/indexes", headers=key, content=b"{" * 5000),
        client.post("/v1.2/indexes", headers=key, content=_chunks(50_000)),  # chunked: no Content-Length
        client.post("/v1.2/tasks", headers=key, files={"video_file": ("v.mp4", b"\0" * 100_000)}),
    ):
        assert r.status_code == 413, r.text
        assert set(r.json()) == {"code", "message"}


def test_listings_sort_by_known_keys_only(tl) -> None:
    client, key = tl
    made = client.post(
        "/v1.2/indexes",
        headers=key,
        json={"index_name": "a", "engines": [{"engine_name": "marengo2.6", "engine_options": ["visual"]}]},
    )
    assert made.status_code == 201, made.text
    assert client.get("/v1.2/indexes?sort_by=video_count", headers=key).status_code == 200
    for path in ("/v1.2/tasks?sort_by=metadata", "/v1.2/tasks?sort_by=__class__"):
        r = client.get(path, headers=key)
        assert r.status_code == 400 and r.json()["code"] == "parameter_invalid", r.text
    assert client.get("/v1.2/tasks?sort_by=status", headers=key).status_code == 200
