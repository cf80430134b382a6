"""The native API's job surface in-process: uploads (multipart jobs, POST /v1/media), job list with filters and
paging, cancel, progress as server-sent events, model and task lookups."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from medialens.app import create_app
from medialens.config import Settings
from medialens.store.apps import create_app as create_credentials
from tests import support
from tests.conftest import MEDIA

VIDEO = MEDIA / "video" / "intel_bottles.mp4"
IMAGE = MEDIA / "image" / "skimage_cat_chelsea.png"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, str], Settings]]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("native-jobs"),
        model_dir=support.ensure_models("niqe"),
        allow_private_urls=True,
        job_poll_interval_s=0.05,
    )
    app = create_app(settings, run_workers=True)
    with TestClient(app, raise_server_exceptions=False) as client:
        cred = create_credentials(app.state.core.db, "t")
        yield client, {"Authorization": f"Bearer {cred.app_id}:{cred.token}"}, settings


def _wait(client: TestClient, headers: dict[str, str], job_id: int, timeout_s: float = 60) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}", headers=headers).json()
        if job["state"] in (2, 3):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish")


def _error(r, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert r.json() == {"error": {"code": code, "message": r.json()["error"]["message"]}}


def test_multipart_video_job_reads_the_upload_and_drops_it(api) -> None:
    client, headers, settings = api
    with VIDEO.open("rb") as f:
        r = client.post(
            "/v1/jobs", headers=headers, data={"task": "video_quality"}, files={"file": ("clip.mp4", f, "video/mp4")}
        )
    assert r.status_code == 202, r.text
    job = _wait(client, headers, r.json()["id"])
    assert job["state"] == 2, job
    assert job["result"]["width"] > 0 and job["result"]["duration_s"] > 0
    image = client.post(
        "/v1/jobs", headers=headers, data={"task": "image_quality"}, files={"file": ("c.png", IMAGE.read_bytes())}
    )
    assert _wait(client, headers, image.json()["id"])["result"]["width"] == 451
    # each upload belonged to its job only: it is gone once the job finished
    store = settings.resolved_blob_dir / "store" / "media"
    assert not [p for p in store.rglob("tmp-*")], list(store.rglob("*"))


def test_media_upload_then_jobs_by_id(api) -> None:
    client, headers, _ = api
    r = client.post("/v1/media", headers=headers, files={"file": ("cat.png", IMAGE.read_bytes(), "image/png")})
    assert r.status_code == 201, r.text
    media_id = r.json()["id"]
    assert r.json()["size"] == IMAGE.stat().st_size
    assert client.get(f"/v1/media/{media_id}", headers=headers).content == IMAGE.read_bytes()
    r = client.post("/v1/jobs", headers=headers, json={"task": "image_quality", "media": media_id})
    assert r.status_code == 202, r.text
    job = _wait(client, headers, r.json()["id"])
    assert job["state"] == 2 and 0 <= job["result"]["score"] <= 100, job
    assert client.delete(f"/v1/media/{media_id}", headers=headers).status_code == 204
    _error(client.get(f"/v1/media/{media_id}", headers=headers), 404, "media_not_found")
    _error(
        client.post("/v1/jobs", headers=headers, json={"task": "image_quality", "media": media_id}),
        404,
        "media_not_found",
    )
    _error(client.get("/v1/media/nothex", headers=headers), 400, "invalid_request")


def test_upload_errors(api) -> None:
    client, headers, _ = api
    _error(
        client.post("/v1/jobs", headers=headers, data={"task": "video_quality"}, files={"x": ("a", b"1")}),
        400,
        "invalid_request",
    )
    _error(
        client.post("/v1/jobs", headers=headers, data={"task": "nope"}, files={"file": ("a", b"1")}),
        404,
        "task_not_found",
    )
    r = client.post(
        "/v1/jobs", headers=headers, data={"task": "video_quality", "options": "[1]"}, files={"file": ("a", b"1")}
    )
    _error(r, 400, "invalid_request")
    _error(client.post("/v1/media", headers=headers, json={"x": 1}), 400, "invalid_request")


def test_list_filters_and_pages(api, tmp_path) -> None:
    client, headers, _ = api
    other = {
        "Authorization": "Bearer "
        + "{0.app_id}:{0.token}".format(create_credentials(client.app.state.core.db, "other"))
    }
    ids = [
        client.post(
            "/v1/jobs", headers=other, json={"task": "video_quality", "url": f"http://127.0.0.1:9/{i}.mp4"}
        ).json()["id"]
        for i in range(5)
    ]
    client.post("/v1/jobs", headers=other, json={"task": "image_quality", "url": "http://127.0.0.1:9/a.png"})
    seen, before = [], None
    while True:
        params = {"task": "video_quality", "limit": 2} | ({"before": before} if before else {})
        page = client.get("/v1/jobs", headers=other, params=params).json()
        seen += [j["id"] for j in page["jobs"]]
        assert all(j["task"] == "video_quality" for j in page["jobs"])
        before = page["next"]
        if before is None:
            break
    assert seen == sorted(ids, reverse=True)
    for j in ids:
        _wait(client, other, j)
    failed = client.get("/v1/jobs", headers=other, params={"state": 3, "limit": 200}).json()["jobs"]
    assert {j["id"] for j in failed} >= set(ids)
    mine = client.get("/v1/jobs", headers=headers, params={"limit": 200}).json()["jobs"]
    assert not set(ids) & {j["id"] for j in mine}  # jobs are per app
    _error(client.get("/v1/jobs", headers=other, params={"state": 7}), 400, "invalid_request")


def test_cancel_and_events(api) -> None:
    client, headers, _ = api
    # A job nobody runs yet: cancel it before a worker can pick it up is racy, so cancel a finished one and a
    # fresh one, and check the outcome either way.
    r = client.post("/v1/jobs", headers=headers, json={"task": "video_quality", "url": "http://127.0.0.1:9/x.mp4"})
    job_id = r.json()["id"]
    cancelled = client.post(f"/v1/jobs/{job_id}/cancel", headers=headers).json()
    assert cancelled["state"] == 3  # cancelled, or already failed on the unreachable URL
    again = client.post(f"/v1/jobs/{job_id}/cancel", headers=headers).json()
    assert again == cancelled  # a finished job stays as it is
    _error(client.post("/v1/jobs/999999/cancel", headers=headers), 404, "job_not_found")

    with VIDEO.open("rb") as f:
        r = client.post("/v1/jobs", headers=headers, data={"task": "video_quality"}, files={"file": ("v.mp4", f)})
    job_id = r.json()["id"]
    events = []
    with client.stream("GET", f"/v1/jobs/{job_id}/events", headers=headers) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        for line in stream.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
    assert events and events[-1]["state"] == 2 and events[-1]["result"]["width"] > 0, events
    assert [e["state"] for e in events] == sorted(e["state"] for e in events)
    _error(client.get("/v1/jobs/999999/events", headers=headers), 404, "job_not_found")


def test_model_and_task_lookup(api) -> None:
    client, headers, _ = api
    r = client.get("/v1/models/niqe", headers=headers)
    assert r.status_code == 200 and r.json()["name"] == "niqe" and r.json()["installed"] is True, r.text
    _error(client.get("/v1/models/nope", headers=headers), 404, "model_not_found")
    r = client.get("/v1/tasks/image_quality", headers=headers)
    assert r.status_code == 200 and r.json()["media_kind"] == "image"
    _error(client.get("/v1/tasks/nope", headers=headers), 404, "task_not_found")


def test_admin_apps(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path, model_dir=tmp_path / "models", admin_token="s3cret")
    with TestClient(create_app(settings, run_workers=False), raise_server_exceptions=False) as client:
        admin = {"Authorization": "Bearer admin:s3cret"}
        _error(client.get("/v1/admin/apps", headers={"Authorization": "Bearer admin:wrong"}), 401, "unauthorized")
        created = client.post("/v1/admin/apps", headers=admin, json={"name": "web"})
        assert created.status_code == 201, created.text
        app = created.json()
        user = {"Authorization": f"Bearer {app['app_id']}:{app['token']}"}
        assert client.get("/v1/tasks", headers=user).status_code == 200
        _error(client.get("/v1/admin/apps", headers=user), 401, "unauthorized")  # an app is no admin
        listed = client.get("/v1/admin/apps", headers=admin).json()["apps"]
        assert [a["name"] for a in listed] == ["web"] and "token" not in listed[0]
        assert client.delete(f"/v1/admin/apps/{app['app_id']}", headers=admin).status_code == 204
        _error(client.delete(f"/v1/admin/apps/{app['app_id']}", headers=admin), 404, "app_not_found")
    with TestClient(create_app(Settings(data_dir=tmp_path / "b"), run_workers=False)) as client:
        _error(client.get("/v1/admin/apps", headers={"Authorization": "Bearer admin:"}), 401, "unauthorized")
        _error(client.get("/v1/admin/apps", headers={"Authorization": "Bearer admin:x"}), 401, "unauthorized")


def test_admin_routes_need_the_admin_token_behind_a_root_path_too(tmp_path) -> None:
    """Behind a reverse proxy (root_path /ml) the URL path no longer starts with /v1/admin/: an app token must still
    be refused there, since the admin check follows the route, not the URL."""
    settings = Settings(data_dir=tmp_path, model_dir=tmp_path / "models", admin_token="s3cret")
    app = create_app(settings, run_workers=False)
    with TestClient(app, root_path="/ml", raise_server_exceptions=False) as client:
        cred = create_credentials(app.state.core.db, "user")
        user = {"Authorization": f"Bearer {cred.app_id}:{cred.token}"}
        _error(client.get("/ml/v1/admin/apps", headers=user), 401, "unauthorized")
        _error(client.post("/ml/v1/admin/apps", headers=user, json={"name": "x"}), 401, "unauthorized")
        listed = client.get("/ml/v1/admin/apps", headers={"Authorization": "Bearer admin:s3cret"})
        assert listed.status_code == 200 and [a["name"] for a in listed.json()["apps"]] == ["user"]


def test_a_refused_upload_job_keeps_no_file(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path, model_dir=support.ensure_models("niqe"))
    with TestClient(create_app(settings, run_workers=False), raise_server_exceptions=False) as client:
        cred = create_credentials(client.app.state.core.db, "c")
        headers = {"Authorization": f"Bearer {cred.app_id}:{cred.token}"}
        bad = {"task": "video_quality", "options": '{"bogus": 1}'}
        r = client.post("/v1/jobs", headers=headers, data=bad, files={"file": ("v.mp4", b"x" * 1000)})
        _error(r, 400, "invalid_options")
        assert not list((settings.resolved_blob_dir / "store").rglob("tmp-*"))


def test_cancel_a_waiting_job_drops_its_upload(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path, model_dir=support.ensure_models("niqe"))
    with TestClient(create_app(settings, run_workers=False), raise_server_exceptions=False) as client:
        cred = create_credentials(client.app.state.core.db, "c")
        headers = {"Authorization": f"Bearer {cred.app_id}:{cred.token}"}
        r = client.post("/v1/jobs", headers=headers, data={"task": "video_quality"}, files={"file": ("v.mp4", b"x")})
        job_id = r.json()["id"]
        uploads = settings.resolved_blob_dir / "store" / "media"
        assert len(list(uploads.rglob("tmp-*"))) == 1
        assert client.get(f"/v1/jobs/{job_id}", headers=headers).json()["state"] == 0  # no worker: it waits
        job = client.post(f"/v1/jobs/{job_id}/cancel", headers=headers).json()
        assert (job["state"], job["message"]) == (3, "cancelled")
        assert not list(uploads.rglob("tmp-*"))
        with client.stream("GET", f"/v1/jobs/{job_id}/events", headers=headers) as stream:
            events = [json.loads(line[6:]) for line in stream.iter_lines() if line.startswith("data: ")]
        assert [(e["state"], e["message"]) for e in events] == [(3, "cancelled")]


def test_cancel_stops_a_running_video_analysis(tmp_path, caplog) -> None:
    """A real video analysis (NIQE on every frame of a 40 s video, most of a minute of work) is cancelled at 5%:
    its worker stops at the next frame, and the pool's only worker goes on to the next job."""
    settings = Settings(
        data_dir=tmp_path,
        model_dir=support.ensure_models("niqe"),
        workers=1,
        job_poll_interval_s=0.05,
        video_sample_fps=30.0,
        video_max_frames=1200,
    )
    with TestClient(create_app(settings, run_workers=True), raise_server_exceptions=False) as client:
        cred = create_credentials(client.app.state.core.db, "c")
        headers = {"Authorization": f"Bearer {cred.app_id}:{cred.token}"}
        with VIDEO.open("rb") as f:
            r = client.post("/v1/jobs", headers=headers, data={"task": "video_quality"}, files={"file": ("v.mp4", f)})
        long_job = r.json()["id"]
        deadline = time.monotonic() + 60
        while not client.get(f"/v1/jobs/{long_job}", headers=headers).json()["message"].startswith("video analyzing"):
            assert time.monotonic() < deadline, "the analysis never reported progress"
            time.sleep(0.05)
        job = client.get(f"/v1/jobs/{long_job}", headers=headers).json()
        assert job["state"] == 1 and job["message"].endswith("%"), job
        with caplog.at_level(logging.INFO, logger="medialens.jobs.runner"):
            cancelled_at = time.monotonic()
            job = client.post(f"/v1/jobs/{long_job}/cancel", headers=headers).json()
            assert (job["state"], job["message"]) == (3, "cancelled")
            with IMAGE.open("rb") as f:
                r = client.post("/v1/jobs", headers=headers, data={"task": "image_quality"}, files={"file": f})
            nxt = _wait(client, headers, r.json()["id"], timeout_s=30)
            stopped = [rec for rec in caplog.records if f"job {long_job} (video_quality) cancelled" in rec.message]
        assert nxt["state"] == 2, nxt  # the one worker is free again: the cancelled analysis has stopped
        assert stopped, "the cancelled analysis did not stop"
        assert time.monotonic() - cancelled_at < 15
        final = client.get(f"/v1/jobs/{long_job}", headers=headers).json()
        assert (final["state"], final["message"], final["result"]) == (3, "cancelled", None)


def test_event_streams_per_app_are_bounded(tmp_path) -> None:
    """Two streams per app here: a third answers 429 in the native shape, another app is not affected, and a
    closed stream gives its slot back. A real server (uvicorn in a thread): streams stay open while read."""
    import threading

    import httpx
    import uvicorn

    settings = Settings(data_dir=tmp_path, model_dir=support.ensure_models("niqe"), events_max_per_app=2)
    app = create_app(settings, run_workers=False)  # no worker: the jobs wait, their streams stay open
    port = support.free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.05)
        db = app.state.core.db
        one, two = create_credentials(db, "one"), create_credentials(db, "two")
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=10) as http:

            def headers(cred) -> dict[str, str]:
                return {"Authorization": f"Bearer {cred.app_id}:{cred.token}"}

            def job(cred) -> int:
                r = http.post("/v1/jobs", headers=headers(cred), json={"task": "image_quality", "url": "http://x/a"})
                return r.json()["id"]

            a, b = job(one), job(two)
            first = http.stream("GET", f"/v1/jobs/{a}/events", headers=headers(one))
            second = http.stream("GET", f"/v1/jobs/{a}/events", headers=headers(one))
            streams = [first.__enter__(), second.__enter__()]
            assert all(s.status_code == 200 for s in streams)
            r = http.get(f"/v1/jobs/{a}/events", headers=headers(one))
            _error(r, 429, "too_many_streams")
            assert "at most 2 event streams" in r.json()["error"]["message"]
            with http.stream("GET", f"/v1/jobs/{b}/events", headers=headers(two)) as other:
                assert other.status_code == 200  # another app has its own slots
            first.__exit__(None, None, None)
            deadline = time.monotonic() + 10
            while (
                r := http.stream("GET", f"/v1/jobs/{a}/events", headers=headers(one))
            ).__enter__().status_code != 200:
                r.__exit__(None, None, None)
                assert time.monotonic() < deadline, "a closed stream did not give its slot back"
                time.sleep(0.1)
            r.__exit__(None, None, None)
            second.__exit__(None, None, None)
    finally:
        server.should_exit = True
        thread.join(10)


def test_no_request_names_the_servers_own_storage(api) -> None:
    """Options only the server fills (a blob key, a library account) and non-web URLs (blob:, file:) are refused:
    otherwise an app could read, overwrite or (as a job's staged media) delete another's files."""
    from medialens.tasks import get_task

    client, headers, _ = api
    tasks = ("video_index", "vod_video_tag", "vod_ai_image")
    support.ensure_models(*{m for t in tasks for m in get_task(t).requires})  # so the options are what is refused
    for task, options in (
        ("video_index", {"blob_key": "media/someone/else"}),
        ("video_index", {"thumbnails": "media/someone"}),
        ("vod_video_tag", {"account": "other", "media_id": "x"}),
        ("vod_ai_image", {"ai_job_id": "x"}),
    ):
        r = client.post("/v1/jobs", headers=headers, json={"task": task, "url": "http://x/v.mp4", "options": options})
        _error(r, 400, "invalid_options")
        assert "is not an option" in r.json()["error"]["message"]
    listed = client.get("/v1/tasks/video_index", headers=headers).json()["options"]["properties"]
    assert "visual" in listed and not {"blob_key", "thumbnails", "filename"} & set(listed)
    for url in ("blob:media/someone/else", "file:///etc/passwd"):
        _error(
            client.post("/v1/jobs", headers=headers, json={"task": "video_quality", "url": url}), 400, "invalid_request"
        )
    r = client.post("/v1/analyze/image_quality", headers=headers, json={"url": "blob:x"})
    _error(r, 400, "invalid_request")
    assert "http:// or https://" in r.json()["error"]["message"]
