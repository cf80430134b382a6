"""The synchronous client."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx

from medialens.client._common import (
    RETRY_STATUSES,
    Credentials,
    Job,
    JobFailed,
    JobTimeout,
    MedialensError,
    Progress,
    Source,
    Task,
    analyze_request,
    check,
    env_settings,
    file_part,
    job_request,
    parse_job,
    retryable,
    sse_jobs,
    typed_result,
)


class Client:
    """``Client("http://host:8000", "AppId:Token")`` (or ``MEDIALENS_URL`` / ``MEDIALENS_CREDENTIALS``).

    Results are the server's own typed models (``medialens.core.results``). Connection errors are retried
    ``retries`` times with a growing pause. Use as a context manager, or call ``close()``.
    """

    def __init__(
        self,
        base_url: str | None = None,
        credentials: str | tuple[str, str] | Credentials | None = None,
        *,
        timeout: float = 120.0,
        retries: int = 3,
        backoff_s: float = 0.2,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url, self.credentials = env_settings(base_url, credentials)
        self.retries, self.backoff_s = retries, backoff_s
        headers = self.credentials.header() if self.credentials else {}
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout, transport=transport)
        self._kinds: dict[str, str] = {}

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # --- plumbing ------------------------------------------------------------------------------------------------
    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        for attempt in range(self.retries + 1):
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.TransportError as err:
                if attempt >= self.retries or not retryable(err, method):
                    raise
            else:
                if method != "GET" or response.status_code not in RETRY_STATUSES or attempt >= self.retries:
                    return check(response)
            time.sleep(self.backoff_s * 2**attempt)
        raise AssertionError("unreachable")

    # --- what exists ---------------------------------------------------------------------------------------------
    def tasks(self) -> list[Task]:
        tasks = [Task.model_validate(t) for t in self._request("GET", "/v1/tasks").json()["tasks"]]
        self._kinds = {t.name: t.media_kind for t in tasks}
        return tasks

    def models(self) -> list[dict[str, Any]]:
        return self._request("GET", "/v1/models").json()["models"]

    def media_kind(self, task: str) -> str:
        if task not in self._kinds:
            self.tasks()
        if task not in self._kinds:
            raise MedialensError(404, "task_not_found", f"no task named {task!r}")
        return self._kinds[task]

    # --- work ----------------------------------------------------------------------------------------------------
    def analyze(self, task: str, source: Source, options: dict[str, Any] | None = None) -> Any:
        """Run an image task now on a URL, a file or bytes; the task's typed result."""
        body = self._request("POST", f"/v1/analyze/{task}", **analyze_request(source, options)).json()
        return typed_result(task, body["result"])

    def submit(
        self,
        task: str,
        source: Source | None = None,
        options: dict[str, Any] | None = None,
        *,
        title: str = "",
        media: str | None = None,
    ) -> Job:
        """Queue a job on a URL, a file or bytes (uploaded with it), or stored media (``media``, from ``upload``)."""
        accepted = self._request("POST", "/v1/jobs", **job_request(task, source, options, title, media)).json()
        return self.job(accepted["id"])

    def run(self, task: str, source: Source, options: dict[str, Any] | None = None, **wait: Any) -> Any:
        """Any task, to its typed result: image tasks at once, video tasks as a job waited for."""
        if self.media_kind(task) == "image":
            return self.analyze(task, source, options)
        return self.wait(self.submit(task, source, options), **wait).result

    def upload(self, source: Source) -> str:
        """Keep media on the server for jobs to name (``submit(task, media=id)``); returns its id."""
        return self._request("POST", "/v1/media", files={"file": file_part(source)}).json()["id"]

    def delete_media(self, media_id: str) -> None:
        self._request("DELETE", f"/v1/media/{media_id}")

    # --- jobs ----------------------------------------------------------------------------------------------------
    def submit_batch(self, items: list[dict[str, Any]]) -> tuple[int, list[int]]:
        """Queue up to 100 jobs at once (each ``{"task", "url" or "media", "options", "title"}``); every item is
        checked before any is queued. Returns (batch id, job ids)."""
        accepted = (self._request("POST", "/v1/batches", json={"items": items})).json()
        return accepted["id"], accepted["job_ids"]

    def batch(self, batch_id: int) -> list[Job]:
        return [parse_job(j) for j in (self._request("GET", f"/v1/batches/{batch_id}")).json()["jobs"]]

    def job(self, job_id: int) -> Job:
        return parse_job(self._request("GET", f"/v1/jobs/{job_id}").json())

    def cancel(self, job: int | Job) -> Job:
        """Cancel a waiting or running job: it ends "cancelled" at once, and a running analysis stops at its next
        progress report, freeing its worker. A finished job comes back unchanged."""
        job_id = job.id if isinstance(job, Job) else job
        return parse_job(self._request("POST", f"/v1/jobs/{job_id}/cancel").json())

    def jobs(self, *, task: str | None = None, state: int | None = None, page_size: int = 50) -> Iterator[Job]:
        """Every job of the app, newest first, fetched a page at a time as the iteration goes."""
        params: dict[str, Any] = {"limit": page_size}
        params |= {k: v for k, v in (("task", task), ("state", state)) if v is not None}
        while True:
            page = self._request("GET", "/v1/jobs", params=params).json()
            yield from (parse_job(j) for j in page["jobs"])
            if page["next"] is None:
                return
            params["before"] = page["next"]

    def events(self, job: int | Job, *, read_timeout: float | None = None) -> Iterator[Job]:
        """The job now and at each change of state or message, until it ends (server-sent events). The server
        sends a keep-alive every 15 s; ``read_timeout`` gives up sooner (``httpx.ReadTimeout``)."""
        job_id = job.id if isinstance(job, Job) else job
        with self._http.stream("GET", f"/v1/jobs/{job_id}/events", timeout=httpx.Timeout(30, read=read_timeout)) as r:
            if r.status_code >= 400:
                r.read()
                check(r)
            for raw in sse_jobs(r.iter_lines()):
                yield parse_job(raw)

    def wait(
        self,
        job: int | Job,
        *,
        timeout: float | None = None,
        on_progress: Callable[[Job], None] | None = None,
        poll_s: float = 0.5,
        raise_on_failure: bool = True,
    ) -> Job:
        """Wait for a job to end, calling ``on_progress`` with each change; follows the event stream and falls
        back to polling when it breaks off. Raises ``JobFailed`` for a failed job (unless told not to) and
        ``JobTimeout`` after ``timeout`` seconds."""
        job_id = job.id if isinstance(job, Job) else job
        deadline = None if timeout is None else time.monotonic() + timeout
        progress = Progress(on_progress)

        try:
            left = None if deadline is None else max(0.1, deadline - time.monotonic())
            for current in self.events(job_id, read_timeout=left):
                progress.see(current)
        except httpx.TransportError:
            pass  # a broken stream, or the timeout: polled below
        while progress.last is None or not progress.last.done:
            progress.see(self.job(job_id))
            if progress.last.done:
                break
            if deadline is not None and time.monotonic() >= deadline:
                raise JobTimeout(progress.last)
            time.sleep(poll_s)
        last = progress.last
        if raise_on_failure and last.state != 2:
            raise JobFailed(last)
        return last
