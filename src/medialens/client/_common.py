"""What the sync and async clients share: credentials, request building, typed parsing, errors, SSE lines."""

from __future__ import annotations

import json
import mimetypes
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field

Source = str | Path | bytes
"""Media: an ``http(s)://`` URL, a local file path, or the file's bytes."""

RETRY_STATUSES = (502, 503, 504)
FINISHED = (2, 3)


class MedialensError(Exception):
    """An error answer of the service: ``status`` (HTTP), ``code`` (``invalid_options``, ``job_not_found``, ...)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


class JobFailed(MedialensError):
    """``wait`` ended on a failed (or cancelled) job; ``job`` is it."""

    def __init__(self, job: Job) -> None:
        super().__init__(200, "job_failed", f"job {job.id} failed: {job.message}")
        self.job = job


class JobTimeout(MedialensError):
    def __init__(self, job: Job) -> None:
        super().__init__(0, "timeout", f"job {job.id} still {job.state_name} when the wait timed out")
        self.job = job


class Job(BaseModel):
    """A job as the service shows it, its ``result`` typed (the task's result model) once completed."""

    model_config = ConfigDict(extra="ignore", arbitrary_types_allowed=True)

    id: int
    task: str
    state: int
    state_name: str
    message: str = ""
    created_at: datetime
    batch_id: int | None = None
    result: Any = None

    @property
    def done(self) -> bool:
        return self.state in FINISHED

    @property
    def ok(self) -> bool:
        return self.state == 2


class Task(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str
    media_kind: str
    summary: str = ""
    available: bool = True
    options: dict[str, Any] = Field(default_factory=dict)


@dataclass(frozen=True)
class Credentials:
    app_id: str
    token: str

    @classmethod
    def parse(cls, value: str | tuple[str, str] | Credentials | None) -> Credentials | None:
        if value is None or isinstance(value, Credentials):
            return value
        if isinstance(value, tuple):
            return cls(*value)
        app_id, sep, token = value.partition(":")
        if not sep or not app_id or not token:
            raise ValueError("credentials must be 'AppId:Token'")
        return cls(app_id, token)

    def header(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.app_id}:{self.token}"}


def env_settings(base_url: str | None, credentials: Any) -> tuple[str, Credentials | None]:
    """The server and credentials, from the arguments or else ``MEDIALENS_URL`` and ``MEDIALENS_CREDENTIALS``
    (``AppId:Token``) or ``MEDIALENS_APP_ID`` + ``MEDIALENS_TOKEN``."""
    url = base_url or os.environ.get("MEDIALENS_URL") or "http://127.0.0.1:8000"
    if credentials is None:
        if os.environ.get("MEDIALENS_CREDENTIALS"):
            credentials = os.environ["MEDIALENS_CREDENTIALS"]
        elif os.environ.get("MEDIALENS_APP_ID") and os.environ.get("MEDIALENS_TOKEN"):
            credentials = (os.environ["MEDIALENS_APP_ID"], os.environ["MEDIALENS_TOKEN"])
    return url.rstrip("/"), Credentials.parse(credentials)


def is_url(source: Source) -> bool:
    return isinstance(source, str) and source.startswith(("http://", "https://"))


def file_part(source: Source) -> tuple[str, bytes, str]:
    """A multipart file part for a path or bytes."""
    if isinstance(source, bytes):
        return "upload", source, "application/octet-stream"
    path = Path(source)
    return path.name, path.read_bytes(), mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def analyze_request(source: Source, options: dict[str, Any] | None) -> dict[str, Any]:
    if is_url(source):
        return {"json": {"url": source, "options": options or {}}}
    return {"files": {"file": file_part(source)}, "data": {"options": json.dumps(options or {})}}


def job_request(task: str, source: Source | None, options: dict[str, Any] | None, title: str, media: str | None):
    if media is not None or source is None or is_url(source):
        body: dict[str, Any] = {"task": task, "options": options or {}, "title": title}
        if media is not None:
            body["media"] = media
        else:
            body["url"] = source or ""
        return {"json": body}
    return {
        "files": {"file": file_part(source)},
        "data": {"task": task, "options": json.dumps(options or {}), "title": title},
    }


def result_type(task: str) -> type[BaseModel] | None:
    """The task's result model (the one the server uses), or None for a task this install does not know."""
    try:
        from medialens.tasks import get_task

        return get_task(task).result
    except KeyError:
        return None


def typed_result(task: str, raw: Any) -> Any:
    kind = result_type(task) if isinstance(raw, dict) else None
    return kind.model_validate(raw) if kind is not None else raw


def parse_job(raw: dict[str, Any]) -> Job:
    job = Job.model_validate(raw)
    if job.result is not None:
        job = job.model_copy(update={"result": typed_result(job.task, job.result)})
    return job


def check(response: httpx.Response) -> httpx.Response:
    if response.status_code < 400:
        return response
    try:
        err = response.json()["error"]
        raise MedialensError(response.status_code, str(err["code"]), str(err["message"]))
    except (ValueError, KeyError, TypeError):
        raise MedialensError(response.status_code, "http_error", response.text[:300]) from None


class SseEvents:
    """Server-sent-event lines in, the JSON ``data`` of each complete event out: one parser for the sync and the
    async client, fed a line at a time."""

    def __init__(self) -> None:
        self._data: list[str] = []

    def feed(self, line: str) -> dict[str, Any] | None:
        if line.startswith("data:"):
            self._data.append(line[5:].lstrip(" "))
        elif line == "" and self._data:
            return self._flush()
        return None

    def end(self) -> dict[str, Any] | None:
        return self._flush() if self._data else None

    def _flush(self) -> dict[str, Any]:
        event, self._data = json.loads("\n".join(self._data)), []
        return event


def sse_jobs(lines: Iterable[str]) -> Iterable[dict[str, Any]]:
    """The JSON ``data`` of each event among server-sent-event lines."""
    events = SseEvents()
    for line in lines:
        if (event := events.feed(line)) is not None:
            yield event
    if (event := events.end()) is not None:
        yield event


class Progress:
    """What ``wait`` has seen of a job: calls ``on_progress`` on each change of state or message."""

    def __init__(self, on_progress: Callable[[Job], None] | None) -> None:
        self.on_progress = on_progress
        self.last: Job | None = None

    def see(self, current: Job) -> None:
        last = self.last
        if self.on_progress is not None and (
            last is None or (last.state, last.message) != (current.state, current.message)
        ):
            self.on_progress(current)
        self.last = current


def retryable(err: Exception, method: str) -> bool:
    """Connection failures are retried: a request that never reached the server (any method), or a read that
    broke off (GET only, which repeats safely)."""
    if isinstance(err, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return True
    return method == "GET" and isinstance(err, httpx.ReadError | httpx.RemoteProtocolError | httpx.ReadTimeout)
