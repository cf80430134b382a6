"""Task specs and the context a running task sees."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path
from typing import Any

from medialens.analyses.errors import UnprocessableError
from medialens.config import Settings

__all__ = ["TaskContext", "TaskSpec", "UnprocessableError", "get_task", "register", "result_payload", "task_available"]


@dataclass
class TaskContext:
    """What a task may use: settings, a scratch folder, a way to report progress to the job record, and the job's
    id (None for synchronous requests) and attempt, which key the job's staged media in a shared blob store.
    ``staged`` collects the blob keys the task kept there, for the runner to remove once the job is finished."""

    settings: Settings
    workdir: Path
    report: Callable[[str], None] = field(default=lambda _msg: None)
    job_id: int | None = None
    attempt: int = 1
    staged: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TaskSpec:
    """A named unit of work; ``requires`` lists the models that must be installed for it to run."""

    name: str
    media_kind: str  # "image" | "video"
    run: Callable[[TaskContext, dict[str, Any]], Any]
    requires: tuple[str, ...] = ()


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
    """A task's result as plain JSON-able data (results are dataclasses of the analyses)."""
    return asdict(result) if is_dataclass(result) else dict(result)
