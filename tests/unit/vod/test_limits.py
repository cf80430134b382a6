"""The VOD endpoint reads its body before the signature is checked: it must stop reading at its limit."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi.testclient import TestClient

from medialens.app import create_app
from medialens.config import Settings
from medialens.protocols.vod.routes import MAX_BODY


def _chunks(total: int) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        yield b"a" * 65536
        sent += 65536


def test_an_oversized_unsigned_body_is_refused_in_the_vod_shape(tmp_path) -> None:
    with TestClient(create_app(Settings(data_dir=tmp_path), run_workers=False)) as client:
        declared = client.post("/", content=b"a" * (MAX_BODY + 1))
        streamed = client.post("/", content=_chunks(MAX_BODY * 4))  # chunked: no Content-Length to trust
    for r in (declared, streamed):
        assert r.status_code == 413, r.text
        body = r.json()
        assert body["Code"] == "InvalidParameter.Body" and body["RequestId"]
