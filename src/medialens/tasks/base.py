"""Task specs, the input every task takes, and the context a running task sees."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from medialens.analyses.errors import UnprocessableError
from medialens.config import Settings
from medialens.tasks.options import TaskOptions
from medialens.tasks.results import TaskResult

__all__ = [
    "JobCancelled",
    "TaskContext",
    "TaskInput",
    "TaskSpec",
    "UnprocessableError",
    "get_task",
    "register",
    "result_payload",
    "task_available",
]


class JobCancelled(Exception):
    """Raised by a job's progress reporter once the job was cancelled (``POST /v1/jobs/{id}/cancel``): the
    analysis unwinds at its next report, its thread is free for the next job, and no outcome is written."""


@dataclass
class TaskContext:
    """What a task may use: settings, a scratch folder, a way to report progress to the job record, and the job's
    id (None for synchronous requests) and attempt, which key the job's staged media in a shared blob store.
    ``report`` raises ``JobCancelled`` once the job was cancelled, so a long analysis that reports stops there.
    ``staged`` collects the blob keys the task kept there, for the runner to remove once the job is finished;
    ``outputs`` the keys of what it produced beside its result."""

    settings: Settings
    workdir: Path
    report: Callable[[str], None] = field(default=lambda _msg: None)
    job_id: int | None = None
    attempt: int = 1
    staged: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    """Blob keys (or prefixes) the task wrote as part of its result: removed by the runner when the job was
    cancelled while running (no outcome is written, so nothing would ever refer to them)."""

    def scratch(self) -> Path:
        """The scratch folder, created on first use (most image tasks never need one)."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        return self.workdir


class TaskInput(BaseModel):
    """What one run of a task gets: the media (a URL, or the bytes themselves as base64 for synchronous requests),
    optional text, and the options as validated by the task's options model. Stored as a job's ``inputs``."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    url: str = ""
    data_base64: str | None = Field(None, description="the media itself (uploads and base64 bodies)")
    media: str | None = Field(None, description="blob-store key of uploaded media (jobs), read instead of url")
    title: str = ""
    text: str = ""
    images: list[str] = Field(default_factory=list)
    options: dict[str, Any] = Field(default_factory=dict)
    # The media's bytes for a run in this process (a synchronous request run where it arrived): no base64 round
    # trip. Never stored or sent: ``portable`` turns them into ``data_base64`` / ``images`` for another process.
    data: bytes | None = Field(None, exclude=True, repr=False)
    more: tuple[bytes, ...] = Field((), exclude=True, repr=False)

    def media_bytes(self) -> tuple[bytes | None, list[bytes | str]]:
        """(the first image, the others): bytes where the caller gave bytes, else the base64 text as stored."""
        if self.data is not None:
            return self.data, list(self.more)
        return None, list(self.images)

    def portable(self) -> dict[str, Any]:
        """The inputs as JSON for a worker in another process (the bytes as base64)."""
        out = self.model_dump(exclude_none=True)
        if self.data is not None:
            out["data_base64"] = base64.b64encode(self.data).decode("ascii")
            out["images"] = [base64.b64encode(d).decode("ascii") for d in self.more] + list(self.images)
        return out


TaskFunction = Callable[[TaskContext, TaskInput, Any], TaskResult]


@dataclass(frozen=True)
class TaskSpec:
    """A named unit of work with its typed contract: the options it takes, the result it returns, and the models
    that must be installed for it to run."""

    name: str
    media_kind: str  # "image" | "video" | "audio" (audio tasks also take a video's sound track) | "text"
    function: TaskFunction
    options: type[TaskOptions] = TaskOptions
    result: type[TaskResult] = TaskResult
    requires: tuple[str, ...] = ()
    summary: str = ""
    queue: str | None = None  # the Celery queue, when not the one of its media kind

    def run(self, ctx: TaskContext, inputs: dict[str, Any] | TaskInput) -> TaskResult:
        """Run on stored (or just built) inputs; the options are validated again, which is cheap and keeps a job
        written by an older version from running with values out of range."""
        given = inputs if isinstance(inputs, TaskInput) else TaskInput.model_validate(inputs)
        if given.media and given.media.rsplit("/", 1)[-1].startswith("tmp-") and given.media not in ctx.staged:
            ctx.staged.append(given.media)  # an upload kept for this job only: dropped once the job is finished
        return self.function(ctx, given, self.options.model_validate(given.options))


_REGISTRY: dict[str, TaskSpec] = {}


def register(spec: TaskSpec) -> TaskSpec:
    _REGISTRY[spec.name] = spec
    return spec


def get_task(name: str) -> TaskSpec:
    from medialens.tasks import registry  # noqa: F401 - importing fills the registry

    return _REGISTRY[name]


def task_available(name: str, settings: Settings) -> bool:
    """True when the task exists and every model it needs is installed."""
    from medialens.models.installed import installed

    try:
        spec = get_task(name)
    except KeyError:
        return False
    return all(installed(m, settings) for m in spec.requires)


def result_payload(result: Any) -> dict[str, Any]:
    """A task's result as plain JSON-able data (what a job stores and a worker sends back)."""
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json")
    return dict(result)
