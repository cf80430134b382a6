"""Synchronous requests (image analysis) of a Celery cluster run on its workers, not in the API.

The API stays free of models and of heavy work: it publishes "run task T on inputs I, answer under key K" to the
task's queue (``image`` for images, so long videos on the ``video`` queue never delay them) and blocks, in a
threadpool thread, on ``BLPOP K`` in Redis. A worker runs the task at once and pushes the result, or the error, as
JSON. The message is acknowledged on receipt and expires when the caller stops waiting: a request nobody waits
for any more is never run again.

Replies travel through Redis, so this needs a ``redis://`` broker; with another broker (RabbitMQ) or
``MEDIALENS_SYNC_ON_WORKERS=false`` the API runs synchronous tasks itself.
"""

from __future__ import annotations

import functools
import json
import logging
import shutil
import uuid
from pathlib import Path
from typing import Any

from medialens.config import Settings
from medialens.jobs.broker import SYNC_TASK_NAME
from medialens.media import errors as media_errors
from medialens.models.errors import ModelNotInstalledError
from medialens.observability.metrics import record_sync_answer
from medialens.tasks import TaskContext, get_task, result_payload
from medialens.tasks.base import TaskInput, UnprocessableError
from medialens.tasks.intake import ImageDownloadError, VideoDownloadError

log = logging.getLogger(__name__)

REPLY_PREFIX = "medialens:reply:"
REPLY_TTL_S = 60  # an answer nobody collects (the caller gave up) is dropped by Redis after this long


class NoWorkerAnsweredError(Exception):
    """No worker answered a synchronous request in time (none consumes its queue, or all are busy)."""


class RemoteTaskError(Exception):
    """A worker's task failed with an unexpected error; the message names the original error."""


def run_locally(settings: Settings, task: str, inputs: TaskInput | dict[str, Any]) -> Any:
    """Run a task in this process with a scratch folder of its own; raises what the task raises."""
    # Named now, made only if the task asks for it (TaskContext.scratch): a mkdir and rmdir per image request cost
    # milliseconds on a busy disk.
    workdir = Path(settings.scratch_dir) / f"sync-{uuid.uuid4().hex}"
    try:
        return get_task(task).run(TaskContext(settings=settings, workdir=workdir), inputs)
    finally:
        if workdir.exists():
            shutil.rmtree(workdir, ignore_errors=True)


# --- errors across the wire ----------------------------------------------------------------------------------------
_FETCH_ERRORS = {
    cls.__name__: cls
    for cls in (
        media_errors.FetchError,
        media_errors.BlockedURLError,
        ImageDownloadError,
        VideoDownloadError,
    )
}
_PLAIN_ERRORS = {
    cls.__name__: cls
    for cls in (
        media_errors.MediaError,
        media_errors.TooLargeError,
        media_errors.TooSmallError,
        media_errors.DecodeError,
        UnprocessableError,
    )
}


def encode_error(err: BaseException) -> dict[str, Any]:
    """What the caller needs to raise the same kind of error the task raised."""
    payload: dict[str, Any] = {
        "type": type(err).__name__,
        "kinds": [cls.__name__ for cls in type(err).__mro__],  # a kind the caller does not know: its nearest base
        "message": str(err)[:2000],
    }
    if isinstance(err, media_errors.FetchError):
        payload["status"] = err.status
    if isinstance(err, media_errors.MediaError):
        payload["hint"] = media_errors.hint_of(err)
    if isinstance(err, ModelNotInstalledError):
        payload.update(model=err.name, hint=err.hint)
    return payload


def decode_error(payload: dict[str, Any]) -> Exception:
    """The error to raise in the API for a worker's encoded one; unknown kinds become RemoteTaskError."""
    kind, message = str(payload.get("type", "")), str(payload.get("message", ""))
    for name in payload.get("kinds") or [kind]:
        if name in _FETCH_ERRORS:
            return _FETCH_ERRORS[name](message, status=payload.get("status"), hint=payload.get("hint"))
        if name in _PLAIN_ERRORS:
            plain = _PLAIN_ERRORS[name](message)
            plain.hint = payload.get("hint")
            return plain
        if name == ModelNotInstalledError.__name__:
            return ModelNotInstalledError(str(payload.get("model", "")), payload.get("hint"))
    return RemoteTaskError(f"{kind}: {message}")


# --- both sides ----------------------------------------------------------------------------------------------------
def reply_url(settings: Settings) -> str | None:
    """Where answers travel: the broker when it is Redis and synchronous work goes to workers, else None."""
    if settings.executor != "celery" or not settings.sync_on_workers:
        return None
    url = settings.broker_url
    return url if url.startswith(("redis://", "rediss://")) else None


@functools.cache
def _redis(url: str, socket_timeout: float | None):
    import redis

    return redis.Redis.from_url(url, socket_timeout=socket_timeout, socket_connect_timeout=5)


def answer(settings: Settings, reply_key: str, task: str, inputs: dict[str, Any]) -> None:
    """Worker side: run the task and push its result or its error under ``reply_key``."""
    try:
        body = {"ok": True, "result": result_payload(run_locally(settings, task, inputs))}
    except Exception as err:  # every failure goes back to the caller; the worker lives on
        if not isinstance(err, media_errors.MediaError | ModelNotInstalledError | UnprocessableError):
            log.exception("synchronous %s failed", task)
        body = {"ok": False, "error": encode_error(err)}
    record_sync_answer(task, body["ok"])
    data = json.dumps(body, ensure_ascii=False, default=str)
    client = _redis(settings.broker_url, 10.0)
    with client.pipeline() as pipe:
        pipe.rpush(reply_key, data)
        pipe.expire(reply_key, REPLY_TTL_S)
        pipe.execute()


class RemoteRunner:
    """API side: send synchronous tasks to the workers and wait for their answers."""

    def __init__(self, settings: Settings, publisher, url: str) -> None:
        self.settings, self.publisher, self.url = settings, publisher, url

    def run(self, task: str, inputs: dict[str, Any], queue: str) -> dict[str, Any]:
        """The task's result payload (a dict), or the task's error raised here."""
        reply_key = f"{REPLY_PREFIX}{uuid.uuid4().hex}"
        timeout = self.settings.sync_timeout_s
        try:
            self.publisher.send(SYNC_TASK_NAME, [reply_key, task, inputs], queue, expires=timeout)
            # The read may block up to the whole wait; the socket timeout must outlast it.
            popped = _redis(self.url, timeout + 10).blpop([reply_key], timeout=timeout)
        except Exception as err:  # the broker is down: the same answer as no worker
            log.warning("synchronous %s could not reach the workers: %s", task, err)
            raise NoWorkerAnsweredError("the workers cannot be reached: the broker is unavailable") from err
        if popped is None:
            raise NoWorkerAnsweredError(f"no worker answered within {timeout:g} s")
        body = json.loads(popped[1])
        if body.get("ok"):
            return body["result"]
        raise decode_error(body.get("error") or {})
