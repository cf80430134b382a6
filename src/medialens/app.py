"""The ASGI application: one FastAPI app carrying every protocol, plus the job executor's lifecycle."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from medialens import __version__
from medialens.config import Settings, get_settings
from medialens.core import Core
from medialens.core.vod_events import EventDispatcher
from medialens.jobs.local import LocalPoolExecutor
from medialens.observability.health import check_readiness
from medialens.observability.metrics import CONTENT_TYPE_LATEST, Metrics, MetricsMiddleware
from medialens.protocols.modelhub import router as modelhub_router
from medialens.protocols.modelhub.routes import PredictFastPath
from medialens.protocols.native import router as native_router
from medialens.protocols.pai.errors import PaiError
from medialens.protocols.pai.routes import error_response
from medialens.protocols.pai.routes import router as pai_router
from medialens.protocols.twelvelabs import mount as mount_twelvelabs
from medialens.protocols.vod import router as vod_router
from medialens.store.db import Database
from medialens.web import router as web_router

log = logging.getLogger(__name__)


def _is_pai(request: Request) -> bool:
    return request.url.path.startswith("/api/") and not request.url.path.startswith("/api/predict/")


def create_app(settings: Settings | None = None, *, run_workers: bool = True) -> FastAPI:
    """Build the app; ``run_workers=False`` serves the API only (jobs are run by other processes)."""
    settings = settings or get_settings()
    workers_expected = run_workers and settings.executor == "local"

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from medialens.models.runtime import prepare_process

        settings.data_dir.mkdir(parents=True, exist_ok=True)
        prepare_process(settings)
        db = Database(settings.resolved_database_url)
        db.migrate()
        executor = LocalPoolExecutor(db, settings) if workers_expected else None
        if settings.executor == "celery":
            from medialens.jobs.celery_executor import CeleryExecutor

            executor = CeleryExecutor(db, settings)  # publishes only: `medialens worker` processes run the jobs
        app.state.core = Core(settings, db, executor)
        if executor is not None:
            executor.start()
        events = EventDispatcher(db, settings)  # VOD event callbacks
        events.start()
        try:
            yield
        finally:
            events.stop()
            if executor is not None:
                executor.stop()
            db.dispose()

    app = FastAPI(title="medialens", version=__version__, lifespan=lifespan)
    app.include_router(pai_router)
    app.include_router(modelhub_router)
    app.include_router(native_router)
    app.include_router(web_router)  # the playground at / and /admin
    mount_twelvelabs(app)
    app.include_router(vod_router)

    def _db() -> Database | None:
        core = getattr(app.state, "core", None)
        return core.db if core is not None else None

    def _broker_depths() -> dict[str, int] | None:
        core = getattr(app.state, "core", None)
        depths = getattr(core.executor, "queue_depths", None) if core is not None else None
        return depths() if depths is not None else None

    metrics = Metrics(_db, _broker_depths)
    app.state.metrics = metrics
    app.add_middleware(PredictFastPath)  # inside the metrics, which count its requests too
    app.add_middleware(MetricsMiddleware, metrics=metrics)

    @app.exception_handler(PaiError)
    async def _pai_error(_request: Request, err: PaiError) -> JSONResponse:
        return error_response(err)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, err: StarletteHTTPException) -> JSONResponse:
        if _is_pai(request):
            return error_response(PaiError(err.status_code, "PARAMETER_ERROR", str(err.detail).lower()))
        if request.url.path.startswith("/v1/"):  # the native API's error shape, also for unknown paths/methods
            code = (
                "not_found" if err.status_code == 404 else "method_not_allowed" if err.status_code == 405 else "error"
            )
            return JSONResponse({"error": {"code": code, "message": str(err.detail)}}, status_code=err.status_code)
        if request.url.path.startswith(("/v1.2/", "/v1.1/")):  # the Twelve Labs shape
            return JSONResponse({"code": "not_found", "message": str(err.detail)}, status_code=err.status_code)
        return JSONResponse({"detail": err.detail}, status_code=err.status_code)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, err: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", request.url.path)
        if _is_pai(request):
            return error_response(PaiError(500, "SERVER_ERROR", "internal server error"))
        return JSONResponse({"detail": "internal server error"}, status_code=500)

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        """The process is up and serving (no dependency is checked: see /readyz)."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"])
    async def readyz() -> JSONResponse:
        """Database reachable, schema at the newest migration, job executor running; else 503 with reasons."""
        core = getattr(app.state, "core", None)
        result = await run_in_threadpool(
            check_readiness,
            core.db if core is not None else None,
            core.executor if core is not None else None,
            workers_expected=workers_expected,
        )
        return JSONResponse(result.as_json(), status_code=200 if result.ready else 503)

    @app.get("/metrics", tags=["ops"])
    async def prometheus_metrics() -> Response:
        """Prometheus text exposition (queue depth is read from the store on each scrape)."""
        return Response(await run_in_threadpool(metrics.exposition), media_type=CONTENT_TYPE_LATEST)

    return app
