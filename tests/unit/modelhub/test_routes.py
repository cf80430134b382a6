"""The Model Hub endpoint and the native service list, in-process: status codes and bodies of every refusal, and
a signed OCR request as the official client builds it."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from email.utils import formatdate

import pytest
from fastapi.testclient import TestClient

from medialens.app import create_app
from medialens.config import Settings
from medialens.protocols.modelhub.auth import authorization_header
from medialens.protocols.modelhub.routes import PARSE_ASIDE_BYTES, QUEUE_HEADER_RAW, PredictFastPath
from medialens.store.apps import create_app as create_credentials
from tests import support
from tests.conftest import MEDIA


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str, dict[str, str]]]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("hub"), model_dir=support.ensure_models("ppocr-v5"))
    app = create_app(settings, run_workers=True)
    with TestClient(app, raise_server_exceptions=False) as client:
        core = app.state.core
        token = core.deploy_service("ocr", "reader").token
        cred = create_credentials(core.db, "t")
        yield client, token, {"Authorization": f"Bearer {cred.app_id}:{cred.token}"}


def _signed(token: str, body: bytes, path: str = "/api/predict/reader") -> dict[str, str]:
    ct, date = "application/octet-stream", formatdate(usegmt=True)
    return {
        "Content-Type": ct,
        "Date": date,
        "Content-MD5": "ignored: the server hashes the body itself",
        "Authorization": authorization_header(token, body, ct, date, path),
    }


def _refused(r, status: int, words: str) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"request_id", "success", "error_code", "error_msg"}, body
    assert body["success"] is False and body["error_code"] == status and words in body["error_msg"], body


def test_a_signed_ocr_request(api) -> None:
    client, token, _ = api
    body = json.dumps({"image": base64.b64encode((MEDIA / "image" / "ocr_zh_line_crop.jpg").read_bytes()).decode()})
    r = client.post("/api/predict/reader", content=body, headers=_signed(token, body.encode()))
    assert r.status_code == 200, r.text
    assert r.json()["success"] is True and "中国作家协会" in "".join(r.json()["detection_texts"])
    r = client.post("/api/predict/reader", content=body, headers={"Authorization": token})
    assert r.status_code == 200, r.text


def test_refusals(api) -> None:
    client, token, _ = api
    _refused(client.post("/api/predict/reader", content=b"{}"), 401, "unauthorized")
    _refused(client.post("/api/predict/reader", content=b"{}", headers={"Authorization": token + "x"}), 401, "")
    signed_elsewhere = _signed(token, b"{}", path="/api/predict/other")
    _refused(client.post("/api/predict/reader", content=b"{}", headers=signed_elsewhere), 401, "unauthorized")
    _refused(client.post("/api/predict/nope", content=b"{}", headers={"Authorization": token}), 404, "not found")
    _refused(client.post("/api/predict/reader", content=b"[1]", headers={"Authorization": token}), 400, "object")
    _refused(client.post("/api/predict/reader", content=b'{"image": 5}', headers={"Authorization": token}), 400, "")
    _refused(client.get("/api/predict/reader"), 401, "unauthorized")  # its queue: the token is needed there too
    _refused(client.get("/api/predict/a/b/c", headers={"Authorization": token}), 404, "not served")
    _refused(client.patch("/api/predict/reader", headers={"Authorization": token}), 405, "not served")
    _refused(client.post("/api/predict/reader/other", content=b"{}", headers={"Authorization": token}), 404, "")
    big = b'{"image": "' + b"A" * 16_000_000 + b'"}'
    _refused(client.post("/api/predict/reader", content=big, headers={"Authorization": token}), 413, "limit")


def test_a_large_signed_body_is_parsed_while_hashed_but_checked_first(api) -> None:
    """A signed body from PARSE_ASIDE_BYTES on is parsed on another thread while it is hashed: it is answered as a
    small one, and what the parse found (a 400, a server fault) is told only to a caller whose signature holds."""
    client, token, _ = api
    image = base64.b64encode((MEDIA / "image" / "ocr_zh_line_crop.jpg").read_bytes()).decode()
    body = json.dumps({"image": image, "padding": "x" * PARSE_ASIDE_BYTES}).encode()
    r = client.post("/api/predict/reader", content=body, headers=_signed(token, body))
    assert r.status_code == 200, r.text
    assert "中国作家协会" in "".join(r.json()["detection_texts"])
    tampered = body.replace(b'"padding": "x', b'"padding": "y', 1)
    _refused(client.post("/api/predict/reader", content=tampered, headers=_signed(token, body)), 401, "unauthorized")
    not_json = b"{" + b"x" * PARSE_ASIDE_BYTES
    _refused(client.post("/api/predict/reader", content=not_json, headers=_signed(token, b"{}")), 401, "unauthorized")
    _refused(client.post("/api/predict/reader", content=not_json, headers=_signed(token, not_json)), 400, "JSON")
    too_deep = b"[" * PARSE_ASIDE_BYTES  # json.loads gives up with a RecursionError, not a ValueError
    _refused(client.post("/api/predict/reader", content=too_deep, headers=_signed(token, b"{}")), 401, "unauthorized")
    _refused(client.post("/api/predict/reader", content=too_deep, headers=_signed(token, too_deep)), 500, "internal")


def test_plain_predicts_take_the_fast_path_and_the_rest_the_router(api) -> None:
    """PredictFastPath answers a plain POST itself (the tests above ran through it), labelled in the metrics with
    the route's template; queue puts, other methods, nested names and a root path go on to the router."""
    client, token, _ = api
    _refused(client.post("/api/predict/nope", content=b"{}", headers={"Authorization": token}), 404, "not found")
    assert 'route="/api/predict/{name}"' in client.get("/metrics").text

    passed: list[str] = []

    async def router(scope, _receive, _send) -> None:
        passed.append(f"{scope['method']} {scope['root_path']}{scope['path']}")

    fast = PredictFastPath(router)
    for method, path, root, headers in (
        ("POST", "/api/predict/reader", "", [(QUEUE_HEADER_RAW, b"1")]),
        ("GET", "/api/predict/reader", "", []),
        ("POST", "/api/predict/reader/x", "", []),
        ("POST", "/api/predict/", "", []),
        ("POST", "/api/predict/reader", "/proxy", []),
    ):
        scope = {"type": "http", "method": method, "path": path, "root_path": root, "headers": headers}
        asyncio.run(fast(scope, None, None))
    assert len(passed) == 5, passed


def test_the_native_api_lists_services(api) -> None:
    client, _, headers = api
    r = client.get("/v1/services", headers=headers)
    assert r.status_code == 200, r.text
    (svc,) = r.json()["services"]
    assert svc["name"] == "reader" and svc["model"] == "ocr" and svc["deployed"] is True
    assert "PP-OCRv4" in svc["description"] and "token" not in svc
    assert client.get("/v1/services").status_code == 401
