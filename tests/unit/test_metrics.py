"""Prometheus metrics, /metrics, /healthz and /readyz, in-process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from medialens.app import create_app
from medialens.config import Settings
from medialens.jobs.runner import run_job
from medialens.observability import metrics as m
from medialens.observability.health import check_readiness, executor_running
from medialens.store import apps, jobs
from medialens.store.db import Database
from medialens.store.migrate import downgrade
from medialens.tasks.base import TaskContext, TaskInput, TaskSpec, register
from medialens.tasks.options import TaskOptions
from medialens.tasks.results import TaskResult
from tests.support import ensure_models


class _Echo(TaskResult):
    n: int


class _EchoOptions(TaskOptions):
    n: int = 0
    fail: bool = False


def _metrics_task(_ctx: TaskContext, _given: TaskInput, opts: _EchoOptions) -> _Echo:
    if opts.fail:
        raise RuntimeError("bad luck")
    return _Echo(n=opts.n)


register(TaskSpec("test_metrics_task", "image", _metrics_task, _EchoOptions, _Echo))


def _samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    return [
        (dict(s.labels), s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name
    ]


def _value(text: str, name: str, **labels: str) -> float:
    return sum(v for lab, v in _samples(text, name) if all(lab.get(k) == x for k, x in labels.items()))


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(Settings(data_dir=tmp_path), run_workers=False)
    with TestClient(app) as c:
        yield c


def test_metrics_endpoint_is_the_text_exposition(client: TestClient) -> None:
    r = client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    names = {f.name for f in text_string_to_metric_families(r.text)}
    assert {
        "medialens_http_requests",
        "medialens_http_request_duration_seconds",
        "medialens_jobs_finished",
        "medialens_job_queue_depth",
    } <= names


def test_requests_are_labelled_by_route_template_not_raw_path(client: TestClient) -> None:
    for job_id in ("1", "22", "abc", "-5"):
        assert client.post(f"/api/v1/async_jobs/{job_id}", content=b"{}").status_code == 401
    client.get("/no/such/path/12345")
    client.get("/healthz")
    text = client.get("/metrics").text
    route = "/api/v1/async_jobs/{job_id}"
    assert _value(text, "medialens_http_requests_total", route=route, method="POST", status="401") == 4
    assert _value(text, "medialens_http_request_duration_seconds_count", route=route, method="POST") == 4
    assert _value(text, "medialens_http_requests_total", route=m.UNMATCHED, status="404") == 1
    assert _value(text, "medialens_http_requests_total", route="/healthz", method="GET", status="200") == 1
    assert "/api/v1/async_jobs/22" not in text and "12345" not in text


def test_an_escaping_exception_counts_as_500() -> None:
    metrics = m.Metrics()

    async def boom(_request):
        raise RuntimeError("boom")

    async def ok(_request):
        return PlainTextResponse("fine", status_code=201)

    app = Starlette(routes=[Route("/boom/{x}", boom), Route("/ok", ok)])
    app.add_middleware(m.MetricsMiddleware, metrics=metrics)
    with TestClient(app, raise_server_exceptions=False) as c:
        assert c.get("/boom/7").status_code == 500
        assert c.get("/ok").status_code == 201
    text = metrics.exposition().decode()
    assert _value(text, "medialens_http_requests_total", route="/boom/{x}", status="500") == 1
    assert _value(text, "medialens_http_requests_total", route="/ok", status="201") == 1


def test_queue_depth_is_read_from_the_store(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    db = Database(settings.resolved_database_url)
    db.migrate()
    app_id = apps.create_app(db, "t").app_id
    metrics = m.Metrics(lambda: db)
    _, ids = jobs.create_jobs(db, app_id, [jobs.NewJob("test_metrics_task", {"options": {"n": i}}) for i in range(3)])
    jobs.claim_job(db, ids[0], "w", 30)
    text = metrics.exposition().decode()
    assert _value(text, "medialens_job_queue_depth", state="initializing") == 2
    assert _value(text, "medialens_job_queue_depth", state="running") == 1


def test_queue_depth_skips_an_unreachable_store() -> None:
    class Broken:
        def session(self):
            raise RuntimeError("database is down")

    assert list(m.QueueDepthCollector(lambda: Broken()).collect()) == []  # type: ignore[arg-type, return-value]
    assert list(m.QueueDepthCollector(lambda: None).collect()) == []


def test_job_outcomes_are_counted_after_finish(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    db = Database(settings.resolved_database_url)
    db.migrate()
    app_id = apps.create_app(db, "t").app_id

    def count(state: str) -> float:
        got = m.JOB_OUTCOMES.labels(task="test_metrics_task", state=state)._value.get()
        return float(got)

    before_ok, before_failed = count("completed"), count("failed")
    _, ids = jobs.create_jobs(
        db,
        app_id,
        [
            jobs.NewJob("test_metrics_task", {"options": {"n": 1}}),
            jobs.NewJob("test_metrics_task", {"options": {"fail": True}}),
        ],
    )
    assert run_job(db, settings, ids[0], "w1") and run_job(db, settings, ids[1], "w1")
    assert not run_job(db, settings, ids[0], "w2")  # already finished: not counted twice
    assert count("completed") == before_ok + 1 and count("failed") == before_failed + 1
    text = m.Metrics(lambda: db).exposition().decode()
    assert _value(text, "medialens_jobs_finished_total", task="test_metrics_task", state="completed") >= 1


def test_model_load_times_from_the_loader(monkeypatch: pytest.MonkeyPatch) -> None:
    from medialens.models import loader

    stats = {
        "/a": {"loaded": ["niqe"], "hits": 3, "misses": 1, "evictions": 0, "load_seconds": {"niqe": 0.5}},
        "/b": {"loaded": ["niqe", "ocr"], "hits": 1, "misses": 2, "evictions": 1, "load_seconds": {"niqe": 0.7}},
    }
    monkeypatch.setattr(loader, "cache_stats", lambda: stats)
    text = m.Metrics().exposition().decode()
    assert _value(text, "medialens_model_load_seconds", model="niqe") == pytest.approx(0.7)  # the longest
    assert _value(text, "medialens_models_loaded") == 2
    assert _value(text, "medialens_model_cache_hits_total") == 4
    assert _value(text, "medialens_model_cache_misses_total") == 3
    assert _value(text, "medialens_model_cache_evictions_total") == 1


def test_model_metrics_skip_a_failing_loader(monkeypatch: pytest.MonkeyPatch) -> None:
    from medialens.models import loader

    def broken() -> dict:
        raise RuntimeError("nope")

    monkeypatch.setattr(loader, "cache_stats", broken)
    assert list(m.ModelLoadCollector().collect()) == []
    assert b"medialens_jobs_finished_total" in m.Metrics().exposition()


def test_niqe_load_time_comes_from_the_one_loader() -> None:
    """NIQE is loaded by the loader like every model, so its load time reaches /metrics with no special case."""
    from medialens.models import loader

    settings = Settings(model_dir=ensure_models("niqe"))
    loader.unload_all()
    try:
        loader.get_pipeline("niqe", settings)
        text = m.Metrics().exposition().decode()
        assert _value(text, "medialens_model_load_seconds", model="niqe") > 0
        assert _value(text, "medialens_models_loaded") >= 1
    finally:
        loader.unload_all()


def test_healthz_and_readyz_when_all_is_well(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path, workers=1, job_poll_interval_s=0.05), run_workers=True)
    with TestClient(app) as c:
        assert c.get("/healthz").json() == {"status": "ok"}
        r = c.get("/readyz")
        assert r.status_code == 200, r.json()
        assert r.json()["checks"] == {"database": "ok", "migrations": "ok", "executor": "ok"}
        app.state.core.executor.stop()
        r = c.get("/readyz")
        assert r.status_code == 503 and r.json()["reasons"] == ["job executor is not running"]
        assert c.get("/healthz").status_code == 200


def test_readyz_without_workers_reports_the_executor_disabled(client: TestClient) -> None:
    r = client.get("/readyz")
    assert r.status_code == 200 and r.json()["checks"]["executor"] == "disabled"


def test_readyz_503_when_migrations_are_behind(client: TestClient) -> None:
    db = client.app.state.core.db  # type: ignore[attr-defined]
    downgrade(db.engine, "base")
    r = client.get("/readyz")
    assert r.status_code == 503
    body = r.json()
    assert body["status"] == "unavailable" and body["checks"]["migrations"] == "failed"
    assert body["reasons"][0].startswith("database schema is at revision none, expected ")


def test_readyz_503_when_the_database_is_unreachable() -> None:
    class Engine:
        def connect(self):
            raise ConnectionRefusedError("connection refused to postgres://user:secret@db")

    class Db:
        engine = Engine()

    result = check_readiness(Db(), None, workers_expected=False)  # type: ignore[arg-type]
    assert not result.ready
    assert result.reasons == ["database is not reachable (ConnectionRefusedError)"]
    assert "secret" not in str(result.as_json())
    assert not check_readiness(None, None, workers_expected=False).ready


def test_executor_running_prefers_a_public_flag() -> None:
    class Flagged:
        running = False

    class Opaque:
        pass

    assert executor_running(Flagged()) is False
    assert executor_running(Opaque()) is True


def test_readiness_needs_an_executor_where_this_process_runs_jobs(tmp_path: Path) -> None:
    db = Database(Settings(data_dir=tmp_path).resolved_database_url)
    db.migrate()
    try:
        missing = check_readiness(db, None, workers_expected=True)
        assert missing.reasons == ["job executor is not configured"]
        api_only = check_readiness(db, None, workers_expected=False)
        assert api_only.ready and api_only.checks["executor"] == "disabled"
    finally:
        db.dispose()
