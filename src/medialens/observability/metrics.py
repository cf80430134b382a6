"""Prometheus metrics: HTTP traffic, job outcomes, queue depth and model load times.

Each app gets its own :class:`Metrics` (its own ``CollectorRegistry``), so several apps in one process (tests)
never clash. Job outcomes are counted by the workers, which know no app, so that counter is process-wide and
registered into every app's registry. Queue depth and model load times are read when ``/metrics`` is scraped,
not kept up to date on every change.

HTTP requests are labelled with the route template (``/api/v1/async_jobs/{job_id}``), never the raw path, so
scanning clients cannot blow up the label cardinality; requests that match no route share ``<unmatched>``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from medialens.models import loader as model_loader
from medialens.store import jobs as job_store
from medialens.store.db import Database
from medialens.store.tables import JobState

log = logging.getLogger(__name__)

__all__ = [
    "CONTENT_TYPE_LATEST",
    "JOB_DURATION",
    "JOB_OUTCOMES",
    "SYNC_ANSWERS",
    "BrokerQueueCollector",
    "Metrics",
    "MetricsMiddleware",
    "ModelLoadCollector",
    "QueueDepthCollector",
    "record_job_outcome",
    "serve_worker_metrics",
    "worker_registry",
]

UNMATCHED = "<unmatched>"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
_STATE_NAMES = {
    JobState.INITIALIZING: "initializing",
    JobState.RUNNING: "running",
    JobState.COMPLETED: "completed",
    JobState.FAILED: "failed",
}

# Process-wide: incremented by workers (medialens.jobs.runner) whichever app they serve.
JOB_OUTCOMES = Counter(
    "medialens_jobs_finished",
    "Jobs that reached a final state, by task and state (completed or failed).",
    ["task", "state"],
    registry=None,
)


JOB_DURATION = Histogram(
    "medialens_job_duration_seconds",
    "Time a worker spent on a job, from its claim to its outcome, by task.",
    ["task"],
    buckets=(*LATENCY_BUCKETS, 300.0, 900.0, 1800.0),
    registry=None,
)
SYNC_ANSWERS = Counter(
    "medialens_sync_requests_answered",
    "Synchronous requests a worker ran for an API (executor=celery), by task and outcome (ok or error).",
    ["task", "outcome"],
    registry=None,
)


def record_job_outcome(task: str, state: int, seconds: float | None = None) -> None:
    """Count one finished job (and how long it ran); never raises (metrics must not fail a job)."""
    try:
        JOB_OUTCOMES.labels(task=task, state=_STATE_NAMES.get(state, str(state))).inc()
        if seconds is not None:
            JOB_DURATION.labels(task=task).observe(seconds)
    except Exception:  # pragma: no cover - defensive
        log.warning("could not record the outcome of a %s job", task, exc_info=True)


def record_sync_answer(task: str, ok: bool) -> None:
    try:
        SYNC_ANSWERS.labels(task=task, outcome="ok" if ok else "error").inc()
    except Exception:  # pragma: no cover - defensive
        log.warning("could not record a synchronous %s request", task, exc_info=True)


class BrokerQueueCollector(Collector):
    """Messages waiting in each broker queue (executor=celery), asked of the broker at scrape time."""

    def __init__(self, depths: Callable[[], dict[str, int] | None]) -> None:
        self._depths = depths

    def describe(self) -> Iterable[Metric]:
        return [self._family()]

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "medialens_broker_queue_messages", "Messages waiting in each broker queue.", None, ["queue"]
        )

    def collect(self) -> Iterable[Metric]:
        try:
            depths = self._depths()
        except Exception:
            log.warning("could not read the broker's queue depths", exc_info=True)
            return []
        if not depths:
            return []
        family = self._family()
        for queue, n in sorted(depths.items()):
            family.add_metric([queue], n)
        return [family]


class QueueDepthCollector(Collector):
    """Jobs waiting (state 0) and running (state 1), counted in the store at scrape time."""

    def __init__(self, db: Callable[[], Database | None]) -> None:
        self._db = db

    def describe(self) -> Iterable[Metric]:
        return [self._family()]

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "medialens_job_queue_depth",
            "Jobs not finished yet, by state (initializing = 0, running = 1).",
            None,
            ["state"],
        )

    def collect(self) -> Iterable[Metric]:
        db = self._db()
        if db is None:
            return []
        try:
            counts = job_store.count_by_state(db, (JobState.INITIALIZING, JobState.RUNNING))
        except Exception:
            log.warning("could not read the job queue depth", exc_info=True)
            return []
        family = self._family()
        for state, n in counts.items():
            family.add_metric([_STATE_NAMES[state]], n)
        return [family]


class ModelLoadCollector(Collector):
    """Model load times and cache counters from the one model loader (``loader.cache_stats()``), NIQE included.

    Read at scrape time; when the loader fails to answer, nothing is reported. Stats of several model
    directories are merged per model name: the longest latest load time, the sum of the counters.
    """

    def describe(self) -> Iterable[Metric]:
        return list(self._families().values())

    @staticmethod
    def _families() -> dict[str, Metric]:
        return {
            "load": GaugeMetricFamily(
                "medialens_model_load_seconds", "Wall time of the latest load of each model.", None, ["model"]
            ),
            "loaded": GaugeMetricFamily("medialens_models_loaded", "Models loaded in this process.", None, []),
            "hits": CounterMetricFamily("medialens_model_cache_hits", "Model cache hits.", None, []),
            "misses": CounterMetricFamily("medialens_model_cache_misses", "Model cache misses (loads).", None, []),
            "evictions": CounterMetricFamily("medialens_model_cache_evictions", "Models unloaded.", None, []),
        }

    def collect(self) -> Iterable[Metric]:
        stats = _loader_stats()
        if stats is None:
            return []
        families = self._families()
        load: dict[str, float] = {}
        loaded: set[str] = set()
        totals = {"hits": 0.0, "misses": 0.0, "evictions": 0.0}
        for cache in stats.values():
            if not isinstance(cache, dict):
                continue
            for name, seconds in (cache.get("load_seconds") or {}).items():
                load[str(name)] = max(load.get(str(name), 0.0), float(seconds))
            loaded.update(str(n) for n in cache.get("loaded") or ())
            for key in totals:
                totals[key] += float(cache.get(key) or 0)
        for name in sorted(load):
            families["load"].add_metric([name], load[name])
        families["loaded"].add_metric([], len(loaded))
        for key, value in totals.items():
            families[key].add_metric([], value)
        return list(families.values())


def _loader_stats() -> dict[str, Any] | None:
    """The model loader's cache stats per model directory (empty before any load); None when it cannot say."""
    try:
        stats = model_loader.cache_stats()
    except Exception:
        log.warning("could not read the model loader's cache stats", exc_info=True)
        return None
    return stats if isinstance(stats, dict) else None


class Metrics:
    """One app's metrics: its registry, HTTP counters, and the scrape-time collectors."""

    def __init__(
        self,
        db: Callable[[], Database | None] = lambda: None,
        broker_depths: Callable[[], dict[str, int] | None] = lambda: None,
    ) -> None:
        self.registry = CollectorRegistry()
        self.http_requests = Counter(
            "medialens_http_requests",
            "HTTP requests by route template, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.http_latency = Histogram(
            "medialens_http_request_duration_seconds",
            "Time from request start to the end of the response body, by route template and method.",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(JOB_OUTCOMES)
        self.registry.register(JOB_DURATION)
        self.registry.register(QueueDepthCollector(db))
        self.registry.register(BrokerQueueCollector(broker_depths))
        self.registry.register(ModelLoadCollector())

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        self.http_requests.labels(route=route, method=method, status=str(status)).inc()
        self.http_latency.labels(route=route, method=method).observe(seconds)

    def exposition(self) -> bytes:
        """The text exposition format (reads the store; call it off the event loop)."""
        return generate_latest(self.registry)


def worker_registry() -> CollectorRegistry:
    """What a `medialens worker` process knows: its job outcomes and durations, the synchronous requests it
    answered, and its models' load times."""
    registry = CollectorRegistry()
    for collector in (JOB_OUTCOMES, JOB_DURATION, SYNC_ANSWERS, ModelLoadCollector()):
        registry.register(collector)
    return registry


def serve_worker_metrics(port: int, host: str = "0.0.0.0") -> None:
    """Serve the worker's metrics at ``http://host:port/metrics`` from a background thread."""
    from prometheus_client import start_http_server

    start_http_server(port, addr=host, registry=worker_registry())


def route_template(scope: Scope) -> str:
    """The template of the route the router matched (``scope["route"]``), or ``<unmatched>``."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str) and path:
        return path
    return UNMATCHED


class MetricsMiddleware:
    """Pure ASGI middleware (no BaseHTTPMiddleware: it must not buffer streams or swallow errors).

    The status is the one the app sent; an exception that escapes before any response counts as 500.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            try:
                self.metrics.observe_request(
                    route_template(scope), scope.get("method", ""), status, time.perf_counter() - start
                )
            except Exception:  # pragma: no cover - defensive
                log.warning("could not record request metrics", exc_info=True)


def iter_samples(registry: CollectorRegistry, name: str) -> Iterator[tuple[dict[str, str], float]]:
    """(labels, value) of every sample called ``name`` (for tests and the CLI)."""
    for family in registry.collect():
        for sample in family.samples:
            if sample.name == name:
                yield dict(sample.labels), sample.value
