"""/healthz, /readyz and /metrics of a live server, after real traffic from the official PAI client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from ai_service_python_sdk.client.api.ai_service_image_api import AiServiceImageApi
from ai_service_python_sdk.client.api.ai_service_job_api import AiServiceJobApi
from ai_service_python_sdk.client.api.ai_service_video_api import AiServiceVideoApi
from ai_service_python_sdk.client.rest import ApiException
from prometheus_client.parser import text_string_to_metric_families

from medialens.store.db import Database
from medialens.store.migrate import downgrade, upgrade
from tests.conftest import MEDIA
from tests.e2e.test_pai_quality import poll_job
from tests.support import live_server, media_server


@pytest.fixture(scope="module")
def shared_media() -> Iterator[str]:
    with media_server(MEDIA) as base:
        yield base


def scrape(base_url: str) -> list[tuple[str, dict[str, str], float]]:
    r = httpx.get(f"{base_url}/metrics", timeout=10)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    return [(s.name, dict(s.labels), s.value) for f in text_string_to_metric_families(r.text) for s in f.samples]


def total(samples, name: str, **labels: str) -> float:
    return sum(v for n, lab, v in samples if n == name and all(lab.get(k) == x for k, x in labels.items()))


def test_healthz_and_readyz(server) -> None:
    assert httpx.get(f"{server.base_url}/healthz").json() == {"status": "ok"}
    r = httpx.get(f"{server.base_url}/readyz")
    assert r.status_code == 200, r.text
    assert r.json() == {
        "status": "ok",
        "checks": {"database": "ok", "migrations": "ok", "executor": "ok"},
        "reasons": [],
    }


def test_metrics_count_pai_traffic_by_route_template(server, pai, shared_media) -> None:
    before = scrape(server.base_url)
    image = f"{shared_media}/image/skimage_cat_chelsea.png"
    assert AiServiceImageApi(pai).image_qa(image, "", {}).code == "OK"
    with pytest.raises(ApiException):
        AiServiceImageApi(pai).image_qa(f"{shared_media}/labels.json", "", {})
    for job_id in (987654321, 987654322):
        with pytest.raises(ApiException):
            AiServiceJobApi(pai).get_async_job(job_id)
    job_id = AiServiceVideoApi(pai).video_qa(f"{shared_media}/no-such-video.mp4", "", "", {}).data["job_id"]
    assert poll_job(pai, job_id)["state"] == 3
    after = scrape(server.base_url)

    def grew(name: str, by: float, **labels: str) -> None:
        delta = total(after, name, **labels) - total(before, name, **labels)
        assert delta >= by, (name, labels, delta)

    images = {"route": "/api/v1/images", "method": "POST"}
    jobs = {"route": "/api/v1/async_jobs/{job_id}", "method": "POST"}
    grew("medialens_http_requests_total", 1, status="200", **images)
    grew("medialens_http_requests_total", 1, status="400", **images)
    grew("medialens_http_requests_total", 2, status="404", **jobs)
    grew("medialens_http_request_duration_seconds_count", 2, **images)
    grew("medialens_jobs_finished_total", 1, task="video_quality", state="failed")
    routes = {lab.get("route") for n, lab, _ in after if n == "medialens_http_requests_total"}
    assert not any("987654321" in r for r in routes), routes  # templates, not raw paths
    depth = {lab["state"] for n, lab, _ in after if n == "medialens_job_queue_depth"}
    assert depth == {"initializing", "running"}


def test_readyz_is_503_with_reasons_while_the_schema_is_behind(tmp_path: Path, models: Path) -> None:
    srv = live_server(tmp_path / "ready")
    srv.start()
    try:
        assert httpx.get(f"{srv.base_url}/readyz").status_code == 200
        db = Database(f"sqlite:///{tmp_path / 'ready' / 'medialens.db'}")
        try:
            downgrade(db.engine, "base")
            r = httpx.get(f"{srv.base_url}/readyz")
            assert r.status_code == 503
            body = r.json()
            assert body["status"] == "unavailable" and body["checks"]["migrations"] == "failed"
            assert body["reasons"][0].startswith("database schema is at revision none, expected ")
            assert httpx.get(f"{srv.base_url}/healthz").status_code == 200  # alive, just not ready
            upgrade(db.engine)
            assert httpx.get(f"{srv.base_url}/readyz").status_code == 200
        finally:
            db.dispose()
    finally:
        srv.stop()
