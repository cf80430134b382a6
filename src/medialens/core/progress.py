"""Live job progress: a job's state and message changes, as they happen, until it ends (the native API sends them
as server-sent events). Executors write progress to the job record (``jobs/runner.py``'s heartbeat), so watching
is polling that record: it works the same for the in-process pool and for Celery workers on other machines."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

from medialens.core.views import JobView
from medialens.store.tables import JobState


async def job_changes(
    read: Callable[[], JobView | None],
    *,
    poll_s: float = 0.25,
    timeout_s: float = 3600.0,
    keepalive_s: float = 15.0,
) -> AsyncIterator[JobView | None]:
    """Yield the job each time its (state, message) changes, first as it is now, and stop after it yields a
    finished job (or when it disappears, or after ``timeout_s``). ``read`` runs in a thread (it queries the
    database). A None between changes, every ``keepalive_s``, lets a caller keep its connection alive."""
    last: tuple[int, str] | None = None
    started = last_sent = time.monotonic()
    while True:
        job = await asyncio.to_thread(read)
        if job is None:
            return
        seen = (job.state, job.message)
        now = time.monotonic()
        if seen != last:
            last, last_sent = seen, now
            yield job
            if job.state in JobState.FINISHED:
                return
        elif now - last_sent >= keepalive_s:
            last_sent = now
            yield None
        if now - started >= timeout_s:
            return
        await asyncio.sleep(poll_s)
