"""What the core hands protocols: plain, typed views of jobs, tasks and models (never ORM rows)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from medialens.models.installed import ModelStatus
from medialens.store.tables import Job, JobState, as_utc
from medialens.tasks import get_task
from medialens.tasks.results import TaskResult

log = logging.getLogger(__name__)

ModelInfo = ModelStatus
"""A model of the registry with its install status (the same type `medialens models list --json` prints)."""

STATE_NAMES = {
    JobState.INITIALIZING: "initializing",
    JobState.RUNNING: "running",
    JobState.COMPLETED: "completed",
    JobState.FAILED: "failed",
}


@dataclass(frozen=True)
class AppInfo:
    """An app (a client's credentials) without its token."""

    app_id: str
    name: str
    created_at: datetime


@dataclass(frozen=True)
class TaskInfo:
    name: str
    media_kind: str
    summary: str
    available: bool
    options_schema: dict[str, Any]


@dataclass(frozen=True)
class JobView:
    """One job: state 0 initializing, 1 running, 2 completed, 3 failed (``message`` says why); ``result`` is the
    task's typed result once completed, else None."""

    id: int
    app_id: str
    task: str
    state: int
    message: str
    created_at: datetime
    batch_id: int | None
    object_url: str | None
    result: TaskResult | None

    @property
    def state_name(self) -> str:
        return STATE_NAMES.get(self.state, "unknown")


def stored_result(task: str, raw: Any) -> TaskResult | None:
    """A stored result (a JSON column, or the JSON text older rows hold) read back into the task's result type."""
    if raw in (None, "", {}):
        return None
    try:
        data = json.loads(raw) if isinstance(raw, str | bytes) else raw
        return get_task(task).result.model_validate(data)
    except (KeyError, ValueError, ValidationError) as err:  # an unknown task, or a row no type can read
        log.warning("stored result of a %s job cannot be read: %s", task, err)
        return None


def job_view(job: Job) -> JobView:
    completed = job.state == JobState.COMPLETED
    return JobView(
        id=job.id,
        app_id=job.app_id,
        task=job.task,
        state=job.state,
        message=job.message or "",
        created_at=as_utc(job.create_time),
        batch_id=job.batch_id,
        object_url=job.object_url,
        result=stored_result(job.task, job.result) if completed else None,
    )
