"""The admin API for every protocol's credentials: VOD AccessKeys, Twelve Labs API keys and Model Hub services
(list, create with the secret shown once, rotate, delete), behind the same admin token as the apps; and each
credential made here works on its own protocol."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from medialens.app import create_app
from medialens.config import Settings
from tests import support

ADMIN = {"Authorization": "Bearer admin:s3cret"}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("admin"), model_dir=support.ensure_models("mobilenet-v2"), admin_token="s3cret"
    )
    with TestClient(create_app(settings, run_workers=False), raise_server_exceptions=False) as c:
        yield c


def _error(r, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert r.json() == {"error": {"code": code, "message": r.json()["error"]["message"]}}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/admin/keys"),
        ("POST", "/v1/admin/keys"),
        ("DELETE", "/v1/admin/keys/LTAIx"),
        ("POST", "/v1/admin/keys/LTAIx/rotate"),
        ("GET", "/v1/admin/apikeys"),
        ("POST", "/v1/admin/apikeys"),
        ("DELETE", "/v1/admin/apikeys/tlk_x"),
        ("GET", "/v1/admin/services"),
        ("POST", "/v1/admin/services"),
        ("POST", "/v1/admin/services/x/rotate"),
        ("DELETE", "/v1/admin/services/x"),
    ],
)
def test_admin_token_required(client: TestClient, method: str, path: str) -> None:
    for headers in ({}, {"Authorization": "Bearer admin:wrong"}, {"Authorization": "Bearer app:token"}):
        _error(client.request(method, path, headers=headers, json={}), 401, "unauthorized")


def test_vod_keys(client: TestClient) -> None:
    r = client.post("/v1/admin/keys", headers=ADMIN, json={})
    assert r.status_code == 201, r.text
    new = r.json()
    assert new["access_key_id"].startswith("LTAI") and len(new["access_key_secret"]) == 30
    listed = client.get("/v1/admin/keys", headers=ADMIN).json()["keys"]
    assert [k["access_key_id"] for k in listed] == [new["access_key_id"]]
    assert "access_key_secret" not in listed[0]  # shown once only
    core = client.app.state.core
    assert core_secret(core, new["access_key_id"]) == new["access_key_secret"]

    second = client.post("/v1/admin/keys", headers=ADMIN, json={"account": new["account"]}).json()
    assert second["account"] == new["account"]
    _error(client.post("/v1/admin/keys", headers=ADMIN, json={"account": "nobody"}), 404, "account_not_found")

    rotated = client.post(f"/v1/admin/keys/{new['access_key_id']}/rotate", headers=ADMIN).json()
    assert rotated["account"] == new["account"] and rotated["access_key_id"] != new["access_key_id"]
    assert core_secret(core, new["access_key_id"]) is None  # the old key stopped working
    assert core_secret(core, rotated["access_key_id"]) == rotated["access_key_secret"]
    _error(client.post("/v1/admin/keys/LTAInope/rotate", headers=ADMIN), 404, "key_not_found")

    assert client.delete(f"/v1/admin/keys/{second['access_key_id']}", headers=ADMIN).status_code == 204
    _error(client.delete(f"/v1/admin/keys/{second['access_key_id']}", headers=ADMIN), 404, "key_not_found")
    ids = {k["access_key_id"] for k in client.get("/v1/admin/keys", headers=ADMIN).json()["keys"]}
    assert ids == {rotated["access_key_id"]}


def core_secret(core, key_id: str) -> str | None:
    from medialens.core import keys

    found = keys.key_secret(core.db, core.settings, key_id)
    return found[0] if found else None


def test_api_keys(client: TestClient) -> None:
    r = client.post("/v1/admin/apikeys", headers=ADMIN)
    assert r.status_code == 201, r.text
    key = r.json()["api_key"]
    assert key.startswith(r.json()["prefix"])
    assert client.get("/v1.2/indexes", headers={"x-api-key": key}).status_code == 200  # it works on its protocol
    listed = client.get("/v1/admin/apikeys", headers=ADMIN).json()["api_keys"]
    assert [k["prefix"] for k in listed] == [r.json()["prefix"]] and "api_key" not in listed[0]
    assert client.delete(f"/v1/admin/apikeys/{r.json()['prefix']}", headers=ADMIN).status_code == 204
    from medialens.store.video_index import api_key_owner

    assert api_key_owner(client.app.state.core.db, key) is None  # refused once the protocol's 5 s cache expires
    _error(client.delete(f"/v1/admin/apikeys/{r.json()['prefix']}", headers=ADMIN), 404, "api_key_not_found")


def test_services(client: TestClient) -> None:
    r = client.post("/v1/admin/services", headers=ADMIN, json={"model": "image_classification", "name": "cls"})
    assert r.status_code == 201, r.text
    svc = r.json()
    assert svc["name"] == "cls" and svc["deployed"] is True and svc["token"]
    names = [v["name"] for v in client.get("/v1/admin/services", headers=ADMIN).json()["services"]]
    assert names == ["cls"]
    _error(
        client.post("/v1/admin/services", headers=ADMIN, json={"model": "image_classification", "name": "cls"}),
        409,
        "already_exists",
    )
    _error(client.post("/v1/admin/services", headers=ADMIN, json={"model": "nope"}), 400, "invalid_request")
    _error(client.post("/v1/admin/services", headers=ADMIN, json={"name": "x"}), 400, "invalid_request")
    rotated = client.post("/v1/admin/services/cls/rotate", headers=ADMIN).json()
    assert rotated["token"] and rotated["token"] != svc["token"]
    core = client.app.state.core
    from medialens.core import services as hub_services

    assert hub_services.get(core.db, core.settings, "cls").token == rotated["token"]
    _error(client.post("/v1/admin/services/nope/rotate", headers=ADMIN), 404, "service_not_found")
    assert client.delete("/v1/admin/services/cls", headers=ADMIN).status_code == 204
    _error(client.delete("/v1/admin/services/cls", headers=ADMIN), 404, "service_not_found")
