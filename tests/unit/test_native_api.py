"""The native /v1 API in-process: auth, tasks, a synchronous image analysis, jobs and batches run by workers."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from medialens.app import create_app
from medialens.config import Settings
from medialens.store.apps import create_app as create_credentials
from tests import support
from tests.conftest import MEDIA


@pytest.fixture(scope="module")
def media_url() -> Iterator[str]:
    with support.media_server(MEDIA) as url:
        yield url


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, str]]]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("native"),
        model_dir=support.ensure_models("niqe"),
        allow_private_urls=True,
        job_poll_interval_s=0.05,
    )
    app = create_app(settings, run_workers=True)
    with TestClient(app, raise_server_exceptions=False) as client:
        cred = create_credentials(app.state.core.db, "t")
        yield client, {"Authorization": f"Bearer {cred.app_id}:{cred.token}"}


def _wait(client: TestClient, headers: dict[str, str], job_id: int, timeout_s: float = 60) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        r = client.get(f"/v1/jobs/{job_id}", headers=headers)
        assert r.status_code == 200, r.text
        if r.json()["state"] in (2, 3):
            return r.json()
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish in {timeout_s} s")


def _error(r, status: int, code: str | None = None) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    if code:
        assert body["error"]["code"] == code, body


@pytest.mark.parametrize(
    "header",
    [None, "Bearer nope", "Bearer unknown-app:token", "Basic abc:def", "Bearer :", "bearer x:y"],
)
def test_auth_missing_or_wrong_is_401(api, header: str | None) -> None:
    client, _ = api
    headers = {"Authorization": header} if header else {}
    _error(client.get("/v1/tasks", headers=headers), 401, "unauthorized")
    _error(client.post("/v1/jobs", headers=headers, json={"task": "video_quality", "url": "x"}), 401, "unauthorized")


def test_wrong_token_is_401(api) -> None:
    client, headers = api
    app_id = headers["Authorization"].split()[1].split(":")[0]
    _error(client.get("/v1/models", headers={"Authorization": f"Bearer {app_id}:wrong"}), 401, "unauthorized")


def test_tasks_and_models(api) -> None:
    client, headers = api
    r = client.get("/v1/tasks", headers=headers)
    assert r.status_code == 200, r.text
    tasks = {t["name"]: t for t in r.json()["tasks"]}
    quality = tasks["image_quality"]
    assert (quality["media_kind"], quality["available"], quality["options"]["properties"]) == ("image", True, {})
    tag_top_k = tasks["image_tags"]["options"]["properties"]["tag_top_k"]
    assert (tag_top_k["default"], tag_top_k["minimum"], tag_top_k["maximum"]) == (10, 1, 10)
    assert tasks["video_quality"]["media_kind"] == "video"
    r = client.get("/v1/models", headers=headers)
    assert r.status_code == 200, r.text
    assert any(m["name"] == "niqe" and m["installed"] for m in r.json()["models"])


def test_analyze_image_quality(api, media_url: str) -> None:
    client, headers = api
    r = client.post(
        "/v1/analyze/image_quality", headers=headers, json={"url": f"{media_url}/image/skimage_cat_chelsea.png"}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["task"] == "image_quality"
    assert 0 <= body["result"]["score"] <= 100
    assert body["result"]["width"] > 0 and body["result"]["height"] > 0


def test_analyze_by_upload_and_base64_gives_the_url_answer(api, media_url: str) -> None:
    client, headers = api
    cat = MEDIA / "image" / "skimage_cat_chelsea.png"
    by_url = client.post("/v1/analyze/image_quality", headers=headers, json={"url": f"{media_url}/image/{cat.name}"})
    encoded = base64.b64encode(cat.read_bytes()).decode()
    by_base64 = client.post("/v1/analyze/image_quality", headers=headers, json={"base64": encoded})
    upload = {"file": (cat.name, cat.read_bytes(), "image/png")}
    by_upload = client.post("/v1/analyze/image_quality", headers=headers, files=upload, data={"options": "{}"})
    for r in (by_url, by_base64, by_upload):
        assert r.status_code == 200, r.text
    assert by_url.json() == by_base64.json() == by_upload.json()


def test_analyze_upload_and_base64_errors(api) -> None:
    client, headers = api
    url = "/v1/analyze/image_quality"
    _error(client.post(url, headers=headers, json={}), 400, "invalid_request")  # neither url nor base64
    _error(client.post(url, headers=headers, json={"url": "http://x/a.png", "base64": "AAAA"}), 400, "invalid_request")
    _error(client.post(url, headers=headers, json={"base64": "not base64!"}), 400, "invalid_request")
    _error(client.post(url, headers=headers, json={"base64": "AAAA"}), 400, "bad_media")  # 3 bytes: not an image
    _error(client.post(url, headers=headers, files={"other": ("a", b"x")}), 400, "invalid_request")
    png = {"file": ("a.png", b"\x89PNG", "image/png")}
    _error(client.post(url, headers=headers, files=png, data={"options": "[1]"}), 400, "invalid_request")
    _error(client.post(url, headers=headers, files=png, data={"options": '{"bogus": 1}'}), 400, "invalid_options")
    _error(client.post(url, headers=headers, files=png), 400, "bad_media")
    broken = b"--b\r\nContent-Disposition: form-data; name=file; filename=a\r\n\r\nabc"
    multipart = {**headers, "content-type": "multipart/form-data; boundary=b"}
    _error(client.post(url, headers=multipart, content=broken), 400)


def test_analyze_errors(api, media_url: str) -> None:
    client, headers = api
    cat = f"{media_url}/image/skimage_cat_chelsea.png"
    _error(client.post("/v1/analyze/no_such_task", headers=headers, json={"url": cat}), 404, "task_not_found")
    _error(
        client.post("/v1/analyze/image_tags", headers=headers, json={"url": cat, "options": {"tag_top_k": 11}}),
        400,
        "invalid_options",
    )
    _error(
        client.post("/v1/analyze/image_quality", headers=headers, json={"url": cat, "options": {"bogus": 1}}),
        400,
        "invalid_options",
    )
    _error(client.post("/v1/analyze/image_quality", headers=headers, json={"url": cat, "x": 1}), 400, "invalid_request")
    _error(client.post("/v1/analyze/image_quality", headers=headers, content=b"{not json"), 400, "invalid_request")
    _error(client.post("/v1/analyze/image_quality", headers=headers, json={"url": "a" * 5000}), 400, "invalid_request")
    _error(client.post("/v1/analyze/video_quality", headers=headers, json={"url": cat}), 400, "invalid_request")
    missing = f"{media_url}/image/missing.png"
    _error(client.post("/v1/analyze/image_quality", headers=headers, json={"url": missing}), 400, "bad_media")
    big = b'{"url": "' + b"a" * 2_000_000 + b'"}'
    _error(client.post("/v1/analyze/image_quality", headers=headers, content=big), 413, "request_too_large")


def test_job_video_quality(api, media_url: str) -> None:
    client, headers = api
    r = client.post(
        "/v1/jobs", headers=headers, json={"task": "video_quality", "url": f"{media_url}/video/basketball_gym.mp4"}
    )
    assert r.status_code == 202, r.text
    assert r.json()["state"] == 0
    job = _wait(client, headers, r.json()["id"])
    assert job["state"] == 2, job
    assert job["state_name"] == "completed" and job["task"] == "video_quality"
    assert isinstance(job["result"], dict) and job["result"]
    assert job["created_at"]


def test_job_errors(api) -> None:
    client, headers = api
    _error(client.get("/v1/jobs/999999", headers=headers), 404, "job_not_found")
    _error(client.get("/v1/jobs/abc", headers=headers), 400, "invalid_request")
    _error(client.get("/v1/batches/999999", headers=headers), 404, "batch_not_found")
    _error(client.post("/v1/jobs", headers=headers, json={"task": "nope", "url": "http://x/a.mp4"}), 404)
    _error(client.post("/v1/jobs", headers=headers, json={"task": "video_quality"}), 400, "invalid_request")
    _error(client.post("/v1/batches", headers=headers, json={"items": []}), 400, "invalid_request")
    too_many = {"task": "multimodal", "url": "http://x/a.mp4", "images": ["http://x/a.png"] * 21}
    _error(client.post("/v1/jobs", headers=headers, json=too_many), 400, "invalid_request")


def test_jobs_are_per_app(api, media_url: str) -> None:
    client, headers = api
    r = client.post("/v1/jobs", headers=headers, json={"task": "video_quality", "url": f"{media_url}/video/none.mp4"})
    assert r.status_code == 202, r.text
    other = create_credentials(client.app.state.core.db, "other")
    _error(
        client.get(f"/v1/jobs/{r.json()['id']}", headers={"Authorization": f"Bearer {other.app_id}:{other.token}"}),
        404,
        "job_not_found",
    )
    failed = _wait(client, headers, r.json()["id"])
    assert failed["state"] == 3 and failed["result"] is None and failed["message"]


def test_batch_of_two(api, media_url: str) -> None:
    client, headers = api
    items = [
        {"task": "video_quality", "url": f"{media_url}/video/basketball_gym.mp4"},
        {"task": "image_quality", "url": f"{media_url}/image/skimage_cat_chelsea.png"},
    ]
    r = client.post("/v1/batches", headers=headers, json={"items": items})
    assert r.status_code == 202, r.text
    batch = r.json()
    assert len(batch["job_ids"]) == 2
    for job_id in batch["job_ids"]:
        assert _wait(client, headers, job_id)["state"] == 2
    r = client.get(f"/v1/batches/{batch['id']}", headers=headers)
    assert r.status_code == 200, r.text
    jobs = r.json()["jobs"]
    assert sorted(j["id"] for j in jobs) == sorted(batch["job_ids"])
    assert all(j["state"] == 2 and j["result"] for j in jobs)


def test_openapi_documents_v1(api) -> None:
    client, _ = api
    r = client.get("/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    for path in ("/v1/tasks", "/v1/models", "/v1/analyze/{task}", "/v1/jobs", "/v1/jobs/{job_id}", "/v1/batches"):
        assert path in paths
    assert "HTTPBearer" in r.json()["components"]["securitySchemes"]


def test_unknown_native_paths_use_the_native_error_shape(tmp_path) -> None:
    from fastapi.testclient import TestClient

    from medialens.app import create_app
    from medialens.config import Settings

    with TestClient(create_app(Settings(data_dir=tmp_path), run_workers=False)) as client:
        r = client.get("/v1/no-such-thing")
        assert r.status_code == 404 and r.json() == {"error": {"code": "not_found", "message": "Not Found"}}
        r = client.delete("/v1/tasks")
        assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"
