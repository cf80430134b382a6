"""The executor interface: how submitted jobs reach workers.

The API only writes jobs to the store and calls ``notify``; an executor decides where they run (an in-process pool
by default, Celery workers for scale-out) behind this same interface. Synchronous requests go through
``run_sync``: in this process for the local pool, on the workers for Celery.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from medialens.tasks.base import TaskInput


class Executor(Protocol):
    def start(self) -> None:
        """Begin taking jobs (and recover those left unfinished by a previous run)."""

    def notify(self, job_ids: list[int]) -> None:
        """New jobs were written in state 0."""

    def run_sync(self, task: str, inputs: TaskInput | dict[str, Any]) -> Any:
        """Run a synchronous (image) task where this executor runs work; raises what the task raises."""

    def stop(self) -> None:
        """Stop taking jobs; running jobs finish or are recovered by the next start."""
