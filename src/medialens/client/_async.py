"""The asynchronous client: the same calls as ``Client``, awaited."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
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
    SseEvents,
    Task,
    analyze_request,
    check,
    env_settings,
    file_part,
    job_request,
    parse_job,
    retryable,
    typed_result,
)


class AsyncClient:
    """``AsyncClient("http://host:8000", "AppId:Token")``: ``Client``'s calls as coroutines (``jobs`` and
    ``events`` are async iterators). Use ``async with``, or await ``close()``."""

    def __init__(
        self,
        base_url: str | None = None,
        credentials: str | tuple[str, str] | Credentials | None = None,
        *,
        timeout: float = 120.0,
        retries: int = 3,
        backoff_s: float = 0.2,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url, self.credentials = env_settings(base_url, credentials)
        self.retries, self.backoff_s = retries, backoff_s
        headers = self.credentials.header() if self.credentials else {}
        self._http = httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=timeout, transport=transport)
        self._kinds: dict[str, str] = {}

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    # --- plumbing ------------------------------------------------------------------------------------------------
    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        for attempt in range(self.retries + 1):
            try:
                response = await self._http.request(method, path, **kwargs)
            except httpx.TransportError as err:
                if attempt >= self.retries or not retryable(err, method):
                    raise
            else:
                if method != "GET" or response.status_code not in RETRY_STATUSES or attempt >= self.retries:
                    return check(response)
            await asyncio.sleep(self.backoff_s * 2**attempt)
        raise AssertionError("unreachable")

    # --- what exists ---------------------------------------------------------------------------------------------
    async def tasks(self) -> list[Task]:
        tasks = [Task.model_validate(t) for t in (await self._request("GET", "/v1/tasks")).json()["tasks"]]
        self._kinds = {t.name: t.media_kind for t in tasks}
        return tasks

    async def models(self) -> list[dict[str, Any]]:
        return (await self._request("GET", "/v1/models")).json()["models"]

    async def media_kind(self, task: str) -> str:
        if task not in self._kinds:
            await self.tasks()
        if task not in self._kinds:
            raise MedialensError(404, "task_not_found", f"no task named {task!r}")
        return self._kinds[task]

    # --- work ----------------------------------------------------------------------------------------------------
    async def analyze(self, task: str, source: Source, options: dict[str, Any] | None = None) -> Any:
        """Run an image task now on a URL, a file or bytes; the task's typed result."""
        body = (await self._request("POST", f"/v1/analyze/{task}", **analyze_request(source, options))).json()
        return typed_result(task, body["result"])

    async def submit(
        self,
        task: str,
        source: Source | None = None,
        options: dict[str, Any] | None = None,
        *,
        title: str = "",
        media: str | None = None,
    ) -> Job:
        """Queue a job on a URL, a file or bytes (uploaded with it), or stored media (``media``, from ``upload``)."""
        accepted = (await self._request("POST", "/v1/jobs", **job_request(task, source, options, title, media))).json()
        return await self.job(accepted["id"])

    async def run(self, task: str, source: Source, options: dict[str, Any] | None = None, **wait: Any) -> Any:
        """Any task, to its typed result: image tasks at once, video tasks as a job waited for."""
        if await self.media_kind(task) == "image":
            return await self.analyze(task, source, options)
        return (await self.wait(await self.submit(task, source, options), **wait)).result

    async def upload(self, source: Source) -> str:
        """Keep media on the server for jobs to name (``submit(task, media=id)``); returns its id."""
        return (await self._request("POST", "/v1/media", files={"file": file_part(source)})).json()["id"]

    async def delete_media(self, media_id: str) -> None:
        await self._request("DELETE", f"/v1/media/{media_id}")

    # --- jobs ----------------------------------------------------------------------------------------------------
    async def submit_batch(self, items: list[dict[str, Any]]) -> tuple[int, list[int]]:
        """Queue up to 100 jobs at once (each ``{"task", "url" or "media", "options", "title"}``); every item is
        checked before any is queued. Returns (batch id, job ids)."""
        accepted = (await self._request("POST", "/v1/batches", json={"items": items})).json()
        return accepted["id"], accepted["job_ids"]

    async def batch(self, batch_id: int) -> list[Job]:
        return [parse_job(j) for j in (await self._request("GET", f"/v1/batches/{batch_id}")).json()["jobs"]]

    async def job(self, job_id: int) -> Job:
        return parse_job((await self._request("GET", f"/v1/jobs/{job_id}")).json())

    async def cancel(self, job: int | Job) -> Job:
        """Cancel a waiting or running job: it ends "cancelled" at once, and a running analysis stops at its next
        progress report, freeing its worker. A finished job comes back unchanged."""
        job_id = job.id if isinstance(job, Job) else job
        return parse_job((await self._request("POST", f"/v1/jobs/{job_id}/cancel")).json())

    async def jobs(
        self, *, task: str | None = None, state: int | None = None, page_size: int = 50
    ) -> AsyncIterator[Job]:
        """Every job of the app, newest first, fetched a page at a time as the iteration goes."""
        params: dict[str, Any] = {"limit": page_size}
        params |= {k: v for k, v in (("task", task), ("state", state)) if v is not None}
        while True:
            page = (await self._request("GET", "/v1/jobs", params=params)).json()
            for j in page["jobs"]:
                yield parse_job(j)
            if page["next"] is None:
                return
            params["before"] = page["next"]

    async def events(self, job: int | Job, *, read_timeout: float | None = None) -> AsyncIterator[Job]:
        """The job now and at each change of state or message, until it ends (server-sent events). The server
        sends a keep-alive every 15 s; ``read_timeout`` gives up sooner (``httpx.ReadTimeout``)."""
        job_id = job.id if isinstance(job, Job) else job
        async with self._http.stream(
            "GET", f"/v1/jobs/{job_id}/events", timeout=httpx.Timeout(30, read=read_timeout)
        ) as r:
            if r.status_code >= 400:
                await r.aread()
                check(r)
            events = SseEvents()
            async for line in r.aiter_lines():
                if (event := events.feed(line)) is not None:
                    yield parse_job(event)
            if (event := events.end()) is not None:
                yield parse_job(event)

    async def wait(
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
            async for current in self.events(job_id, read_timeout=left):
                progress.see(current)
        except httpx.TransportError:
            pass  # a broken stream, or the timeout: polled below
        while progress.last is None or not progress.last.done:
            progress.see(await self.job(job_id))
            if progress.last.done:
                break
            if deadline is not None and time.monotonic() >= deadline:
                raise JobTimeout(progress.last)
            await asyncio.sleep(poll_s)
        last = progress.last
        if raise_on_failure and last.state != 2:
            raise JobFailed(last)
        return last
