"""The executor interface: how submitted jobs reach workers.

The API only writes jobs to the store and calls ``notify``; an executor decides where they run (an in-process pool
by default, Celery workers for scale-out) behind this same interface.
"""

from __future__ import annotations

from typing import Protocol


class Executor(Protocol):
    def start(self) -> None:
        """Begin taking jobs (and recover those left unfinished by a previous run)."""

    def notify(self, job_ids: list[int]) -> None:
        """New jobs were written in state 0."""

    def stop(self) -> None:
        """Stop taking jobs; running jobs finish or are recovered by the next start."""
