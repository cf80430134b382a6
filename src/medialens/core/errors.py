"""The core's one small error hierarchy: each protocol maps these, in one place, to its own wire shape.

Whatever a task raises (media, model, analysis or worker errors from the layers below) reaches protocols only
as one of these, through ``translate``.
"""

from __future__ import annotations

import logging

from medialens.analyses.errors import UnprocessableError
from medialens.jobs.sync_calls import NoWorkerAnsweredError, RemoteTaskError
from medialens.media.errors import MediaError, TooLargeError, hint_of
from medialens.models.errors import ModelNotInstalledError

log = logging.getLogger(__name__)


class CoreError(Exception):
    """Base: ``message`` is safe to show a client (no traceback, no path)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TaskNotFound(CoreError):
    """No task has that name."""


class ModelNotFound(CoreError):
    """The task exists but a model it needs is not installed (protocols answer "model not found")."""


class NotFound(CoreError):
    """No such resource for this owner (an index, a video, stored media...), or an expired page token."""


class AlreadyExists(CoreError):
    """A resource with that name exists already."""


class InvalidOptions(CoreError):
    """An option is unknown or out of its range; ``field`` names it, ``problem`` says what is wrong."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field} {problem}")
        self.field, self.problem = field, problem


class BadMedia(CoreError):
    """The media could not be fetched or decoded. ``status`` is the remote host's HTTP status when a download
    failed; ``hint`` says which setting would allow it (e.g. a private URL), for protocols that may add it."""

    def __init__(self, message: str, *, status: int | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.status, self.hint = status, hint


class MediaTooLarge(BadMedia):
    """The media is over a configured limit (bytes, pixels, duration)."""


class Unprocessable(CoreError):
    """The analysis ran but cannot answer for this input (no person to reshape, no face)."""


class WorkersUnavailable(CoreError):
    """No worker answered a synchronous request in time (executor=celery)."""


class AnalysisFailed(CoreError):
    """The analysis failed unexpectedly; the message names the error type."""


def translate(err: Exception, task: str) -> CoreError:
    """The core error for what running ``task`` raised; unexpected errors are logged here, once."""
    if isinstance(err, CoreError):
        return err
    if isinstance(err, TooLargeError):
        return MediaTooLarge(str(err), hint=hint_of(err))
    if isinstance(err, MediaError):
        return BadMedia(str(err), status=getattr(err, "status", None), hint=hint_of(err))
    if isinstance(err, ModelNotInstalledError):
        return ModelNotFound(str(err))
    if isinstance(err, UnprocessableError):
        return Unprocessable(str(err))
    if isinstance(err, NoWorkerAnsweredError):
        return WorkersUnavailable(str(err))
    if isinstance(err, RemoteTaskError):  # the worker logged it; its message already names the type
        return AnalysisFailed(str(err))
    log.exception("%s failed", task, exc_info=err)
    return AnalysisFailed(f"{type(err).__name__}: {err}")
