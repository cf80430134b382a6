"""The core the protocols talk to: list tasks and models, validate options, run a task now, submit jobs, read
jobs back. Nothing here knows a wire format; everything a protocol needs comes through here."""

from __future__ import annotations

import hmac
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO

from pydantic import ValidationError

from medialens.blobs import BlobStore, open_blob_store
from medialens.config import Settings
from medialens.core import keys, uploads
from medialens.core import services as hub_services
from medialens.core.errors import InvalidOptions, ModelNotFound, TaskNotFound, translate
from medialens.core.progress import job_changes
from medialens.core.ttl_cache import TTLCache
from medialens.core.views import AppInfo, JobView, ModelInfo, TaskInfo, job_view
from medialens.jobs.executor import Executor
from medialens.jobs.sync_calls import run_locally
from medialens.models.installed import list_models
from medialens.store import apps as app_store
from medialens.store import jobs as job_store
from medialens.store import video_index as index_store
from medialens.store.apps import get_app
from medialens.store.db import Database
from medialens.store.tables import as_utc
from medialens.tasks import TASKS, TaskInput, TaskSpec, get_task, task_available
from medialens.tasks.options import TaskOptions
from medialens.tasks.results import TaskResult

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobRequest:
    """One job to queue: a task, its validated options, and its media (a URL and/or image URLs) and text."""

    task: str
    options: TaskOptions
    url: str = ""
    title: str = ""
    text: str = ""
    images: tuple[str, ...] = ()
    object_url: str | None = None
    media_key: str | None = None  # uploaded media in the blob store (``Core.put_media``), instead of ``url``
    data: bytes | None = field(default=None, repr=False)  # the media itself (a queued Model Hub image request)


@dataclass(frozen=True)
class Media:
    """The media of a synchronous request: a URL, or the bytes themselves (an upload or a base64 body)."""

    url: str = ""
    data: bytes | None = field(default=None, repr=False)
    more: tuple[bytes, ...] = field(default=(), repr=False)
    """Further images of a request that compares several (Model Hub similarity services)."""
    text: str = ""


def _first_problem(err: ValidationError, options: type[TaskOptions]) -> InvalidOptions:
    first = err.errors()[0]
    name = str(first["loc"][0]) if first.get("loc") else "options"
    return InvalidOptions(name, f"must be {options.rule(name)}")


def _options_schema(options: type[TaskOptions]) -> dict[str, Any]:
    """The options' JSON schema without the model's own title and docstring (those name Python classes), and
    without the options only the server fills (a request may not name them)."""
    schema = options.model_json_schema()
    hidden = options.server_set()
    if hidden and isinstance(schema.get("properties"), dict):
        schema["properties"] = {k: v for k, v in schema["properties"].items() if k not in hidden}
    return {k: v for k, v in schema.items() if k not in ("title", "description")}


class Core:
    AVAILABILITY_TTL_S = 2.0

    def __init__(self, settings: Settings, db: Database, executor: Executor | None) -> None:
        self.settings, self.db, self.executor = settings, db, executor
        self._tokens = TTLCache(settings.credential_cache_s)
        self._available = TTLCache(self.AVAILABILITY_TTL_S)
        self._blobs: BlobStore | None = None

    # --- what exists ---------------------------------------------------------------------------------------------
    def spec(self, task: str) -> TaskSpec:
        try:
            return get_task(task)
        except KeyError:
            raise TaskNotFound(f"no task named {task[:64]!r}") from None

    def available(self, task: str) -> bool:
        """Whether a task exists and its models are installed (else protocols answer "model not found")."""
        return self._available.get(task, lambda: task_available(task, self.settings))

    def require(self, task: str) -> TaskSpec:
        """The task's spec, when it exists and its models are installed; else TaskNotFound / ModelNotFound."""
        spec = self.spec(task)
        if not self.available(task):
            raise ModelNotFound(f"the models of task {task} are not installed")
        return spec

    def tasks(self) -> list[TaskInfo]:
        return [
            TaskInfo(s.name, s.media_kind, s.summary, self.available(s.name), _options_schema(s.options))
            for s in TASKS.values()
        ]

    def models(self) -> list[ModelInfo]:
        return list_models(self.settings)

    def app_token(self, app_id: str) -> str | None:
        """The token of an app, or None when there is no such app (cached for a few seconds)."""

        def lookup() -> str | None:
            app = get_app(self.db, app_id)
            return app.token if app else None

        return self._tokens.get(app_id, lookup)

    # --- credentials (the admin API) ------------------------------------------------------------------------------
    def is_admin(self, token: str) -> bool:
        """Whether ``token`` is the configured admin token (none configured: nobody is admin)."""
        expected = self.settings.admin_token
        return bool(expected) and hmac.compare_digest(expected.encode(), token.encode())

    def apps(self) -> list[AppInfo]:
        return [AppInfo(a.app_id, a.name, as_utc(a.created_at)) for a in app_store.list_apps(self.db)]

    def create_app(self, name: str) -> tuple[AppInfo, str]:
        """A new app and its token (shown once)."""
        app = app_store.create_app(self.db, name)
        return AppInfo(app.app_id, app.name, as_utc(app.created_at)), app.token

    def delete_app(self, app_id: str) -> bool:
        """Delete an app with its jobs; its credentials stop working within the credential cache's few seconds."""
        return app_store.delete_app(self.db, app_id)

    # --- Model Hub services (core/services.py) ------------------------------------------------------------------
    def service(self, name: str) -> hub_services.ServiceView | None:
        """A deployed service (cached for a few seconds: a deleted one or a rotated token is noticed soon)."""
        return self._tokens.get(("service", name), lambda: hub_services.get(self.db, self.settings, name))

    def services(self) -> list[hub_services.ServiceView]:
        return hub_services.list_all(self.db, self.settings)

    def deploy_service(self, model: str, name: str | None = None) -> hub_services.ServiceView:
        return hub_services.deploy(self.db, self.settings, model, name)

    def hub_models(self) -> list[tuple[hub_services.HubModel, str | None]]:
        """Every Model Hub model a service can serve, with what is missing to deploy it (None: deployable)."""
        return [(m, hub_services.not_deployed_hint(m, self.settings)) for m in hub_services.HUB_MODELS.values()]

    def undeploy_service(self, name: str) -> bool:
        return hub_services.undeploy(self.db, name)

    def rotate_service_token(self, name: str) -> str | None:
        return hub_services.rotate_token(self.db, name)

    # --- other protocols' credentials, for the admin API (the CLI's `keys` and `apikeys`) ------------------------
    def vod_keys(self) -> list[keys.KeyInfo]:
        """VOD AccessKeys (secrets are never listed)."""
        return keys.list_keys(self.db)

    def create_vod_key(self, account: str | None = None) -> keys.NewKey | None:
        """A new AccessKey pair (its secret is in this answer only) for ``account``, or for a new account; None
        when there is no such account."""
        try:
            return keys.create_key(self.db, self.settings, account)
        except KeyError:
            return None

    def delete_vod_key(self, key_id: str) -> bool:
        return keys.delete_key(self.db, key_id)

    def rotate_vod_key(self, key_id: str) -> keys.NewKey | None:
        """A new pair for the account of ``key_id``, which is deleted; None when there is no such key."""
        old = next((k for k in keys.list_keys(self.db) if k.access_key_id == key_id), None)
        if old is None:
            return None
        new = keys.create_key(self.db, self.settings, old.account)
        keys.delete_key(self.db, key_id)
        return new

    def api_keys(self) -> list[tuple[str, datetime]]:
        """Video-index (Twelve Labs) API keys as (prefix, created): the keys themselves are not stored."""
        return [(k.prefix, k.created_at) for k in index_store.list_api_keys(self.db)]

    def create_api_key(self) -> tuple[str, str]:
        """A new API key (shown in this answer only) and its prefix; it owns its own indexes and jobs."""
        key, row = index_store.create_api_key(self.db)
        return key, row.prefix

    def delete_api_key(self, prefix: str) -> bool:
        """Delete an API key by its prefix, with its indexes and jobs."""
        return index_store.delete_api_key(self.db, prefix)

    # --- options -------------------------------------------------------------------------------------------------
    def options(self, task: str, given: Mapping[str, Any] | None, *, strict: bool = False) -> TaskOptions:
        """``given`` validated by the task's options model; a None value means "the default". With ``strict``
        (the native API) keys the task does not take are refused, and so are those only the server fills (a blob
        key, an account: ``TaskOptions.server_set``); PAI ignores unknown keys, as the service does."""
        model = self.spec(task).options
        values = {k: v for k, v in (given or {}).items() if v is not None}
        if strict and (unknown := sorted(set(values) - (set(model.model_fields) - model.server_set()))):
            raise InvalidOptions(unknown[0][:64], f"is not an option of task {task}")
        try:
            return model.model_validate(values)
        except ValidationError as err:
            raise _first_problem(err, model) from None

    # --- work ----------------------------------------------------------------------------------------------------
    def run_now(self, task: str, media: Media, options: TaskOptions) -> TaskResult:
        """Run a task synchronously (image requests) where the executor runs work; raises CoreError."""
        spec = self.spec(task)
        # The bytes as they are: base64 only if the executor sends the request to another process (portable()).
        inputs = TaskInput(
            url=media.url, data=media.data, more=media.more, text=media.text, options=options.model_dump()
        )
        try:
            if self.executor is None:
                result = run_locally(self.settings, task, inputs)
            else:
                result = self.executor.run_sync(task, inputs)
        except Exception as err:
            raise translate(err, task) from err
        return result if isinstance(result, TaskResult) else spec.result.model_validate(result)

    def submit(self, app_id: str, requests: list[JobRequest], *, batch: bool = False) -> tuple[int | None, list[int]]:
        """Queue jobs (in one transaction); returns (batch id or None, job ids)."""
        new = [
            job_store.NewJob(
                r.task,
                TaskInput(
                    url=r.url,
                    data=r.data,  # a queued request's body: stored as base64 (``portable``)
                    media=r.media_key,
                    title=r.title,
                    text=r.text,
                    images=list(r.images),
                    options=r.options.model_dump(),
                ).portable(),
                r.object_url,
            )
            for r in requests
        ]
        batch_id, ids = job_store.create_jobs(self.db, app_id, new, batch=batch)
        if self.executor is not None:
            self.executor.notify(ids)
        return batch_id, ids

    def job(self, job_id: int, app_id: str) -> JobView | None:
        job = job_store.get_job(self.db, job_id, app_id)
        return job_view(job) if job is not None else None

    def batch(self, batch_id: int, app_id: str) -> list[JobView] | None:
        jobs = job_store.get_batch_jobs(self.db, batch_id, app_id)
        return [job_view(j) for j in jobs] if jobs is not None else None

    def jobs(
        self,
        app_id: str,
        *,
        task: str | None = None,
        state: int | None = None,
        limit: int = 50,
        before: int | None = None,
    ) -> list[JobView]:
        """An app's jobs, newest first, filtered by task and state; ``before`` (a job id) asks for the next page."""
        rows = job_store.list_jobs(self.db, limit=limit, state=state, app_id=app_id, task=task, before_id=before)
        return [job_view(j) for j in rows]

    def watch(
        self, job_id: int, app_id: str, *, poll_s: float = 0.25, timeout_s: float = 3600.0
    ) -> AsyncIterator[JobView | None]:
        """The job's state and message changes until it ends (``core.progress.job_changes``)."""
        return job_changes(lambda: self.job(job_id, app_id), poll_s=poll_s, timeout_s=timeout_s)

    def cancel(self, job_id: int, app_id: str) -> JobView | None:
        """Cancel a waiting or running job (it ends in state 3, "cancelled"); a finished job is left as it is.
        Returns the job as it now is, or None when the app has no such job."""
        if job_store.cancel_job(self.db, job_id, app_id):
            self._drop_job_upload(job_id)
        return self.job(job_id, app_id)

    def _drop_job_upload(self, job_id: int) -> None:
        """A cancelled job's own upload (a multipart job's ``tmp-`` media): no outcome will be written, so the
        runner will not remove it. A worker still copying it keeps its open file (local store) or fails a job
        that is cancelled anyway."""
        job = job_store.get_job(self.db, job_id)
        key = (job.inputs or {}).get("media") if job is not None else None
        if isinstance(key, str) and key.rsplit("/", 1)[-1].startswith("tmp-"):
            try:
                self.blobs().delete(key)
            except OSError:
                log.warning("could not remove the upload of cancelled job %s", job_id, exc_info=True)

    # --- uploaded media ------------------------------------------------------------------------------------------
    def blobs(self) -> BlobStore:
        if self._blobs is None:
            self._blobs = open_blob_store(self.settings)
        return self._blobs

    def put_media(self, app_id: str, data: bytes | BinaryIO, *, temporary: bool = False) -> tuple[str, str]:
        """Keep uploaded media (bytes, or a file object copied in chunks) for jobs to read; returns (media id,
        blob key). ``temporary`` media belong to the one job they are submitted with and are removed when it
        finishes."""
        return uploads.put_media(self.blobs(), app_id, data, temporary=temporary)

    def media_key(self, app_id: str, media_id: str) -> str | None:
        """The blob key of an app's stored media, or None when it has none by that id."""
        key = uploads.media_key(app_id, media_id)
        return key if key is not None and self.blobs().exists(key) else None

    def media_bytes(self, app_id: str, media_id: str) -> bytes | None:
        key = self.media_key(app_id, media_id)
        return self.blobs().get_bytes(key) if key is not None else None

    def delete_media(self, app_id: str, media_id: str) -> bool:
        key = self.media_key(app_id, media_id)
        if key is None:
            return False
        self.blobs().delete(key)
        return True
