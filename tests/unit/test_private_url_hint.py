"""A URL refused for its private address names the setting that allows it: in the log and in the native API's
message. The PAI protocol keeps the service's own wording."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from medialens.app import create_app
from medialens.config import Settings
from medialens.media import ssrf
from medialens.media.errors import BlockedURLError, FetchError, MediaError, hint_of, with_hint
from medialens.protocols.pai.auth import authorization_header
from medialens.store.apps import create_app as create_credentials
from tests import support

SETTING = "MEDIALENS_ALLOW_PRIVATE_URLS"
PRIVATE = "http://127.0.0.1:9/cat.png"


def test_refusal_carries_the_hint_and_logs_it(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="medialens.media.ssrf"), pytest.raises(BlockedURLError) as exc:
        ssrf.vet_url(PRIVATE, allow_private=False)
    assert str(exc.value) == "url resolves to a private address"  # the client's message names no address
    assert exc.value.hint and SETTING in exc.value.hint
    (record,) = [r for r in caplog.records if r.name == "medialens.media.ssrf"]
    assert SETTING in record.getMessage() and "127.0.0.1" in record.getMessage()


def test_shape_errors_have_no_hint() -> None:
    """No setting allows a non-http scheme or credentials in a URL: no hint that suggests one."""
    for url in ("ftp://example.com/a.png", "http://user:pw@example.com/a.png"):
        with pytest.raises(BlockedURLError) as exc:
            ssrf.vet_url(url, allow_private=False)
        assert exc.value.hint is None and hint_of(exc.value) is None


def test_hint_survives_a_reworded_error() -> None:
    """Tasks re-raise fetch errors in the PAI wording (``raise ... from err``); the hint is found on the cause."""
    try:
        try:
            raise BlockedURLError("url resolves to a private address", hint="set X")
        except FetchError as inner:
            raise FetchError(f"failed to download image, err={inner}", status=inner.status) from inner
    except FetchError as outer:
        assert hint_of(outer) == "set X"
        assert with_hint(outer) == "failed to download image, err=url resolves to a private address (set X)"
        assert with_hint(outer, limit=6) == "failed (set X)"
    assert with_hint(MediaError("plain")) == "plain"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str, str]]:
    """A service with the default (strict) URL policy; (client, AppId, Token)."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("strict"), model_dir=support.ensure_models("niqe"))
    assert settings.allow_private_urls is False
    app = create_app(settings, run_workers=False)
    with TestClient(app, raise_server_exceptions=False) as c:
        cred = create_credentials(app.state.core.db, "t")
        yield c, cred.app_id, cred.token


def test_native_message_names_the_setting(client) -> None:
    c, app_id, token = client
    headers = {"Authorization": f"Bearer {app_id}:{token}"}
    r = c.post("/v1/analyze/image_quality", json={"url": PRIVATE}, headers=headers)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["code"] == "bad_media"
    assert error["message"].startswith("failed to download image, err=url resolves to a private address (")
    assert SETTING in error["message"] and "127.0.0.1" not in error["message"]


def test_pai_message_keeps_the_service_wording(client) -> None:
    c, app_id, token = client
    body = json.dumps({"action": "ImageQA", "image": PRIVATE}).encode()
    auth = authorization_header(app_id, token, "POST", "/api/v1/images", body)
    r = c.post("/api/v1/images", content=body, headers={"Authorization": auth, "Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "PARAMETER_ERROR"
    assert r.json()["message"] == "failed to download image, err=url resolves to a private address"
