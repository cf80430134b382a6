"""Model Hub error answers: a non-200 status and the seed's body ``{request_id, success: false, error_code,
error_msg}``. Client errors are 4xx (the official client retries a 5xx five times, WIRE.md §D.1)."""

from __future__ import annotations

from medialens.core import (
    AnalysisFailed,
    BadMedia,
    CoreError,
    InvalidOptions,
    MediaTooLarge,
    ModelNotFound,
    ServiceError,
    TaskNotFound,
    Unprocessable,
    WorkersUnavailable,
)


class HubError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message

    @property
    def code(self) -> int:
        """``error_code`` (an INT in the seed): the HTTP status."""
        return self.status


def bad_request(message: str) -> HubError:
    return HubError(400, message)


def unauthorized() -> HubError:
    return HubError(401, "unauthorized: the token or signature does not match this service")


def no_service(name: str) -> HubError:
    return HubError(404, f"service {name[:64]!r} not found")


def too_large(limit: int) -> HubError:
    return HubError(413, f"request body is larger than the limit of {limit} bytes")


def from_core(err: CoreError) -> HubError:
    """The one place a core error becomes a Model Hub answer."""
    if isinstance(err, TaskNotFound | ModelNotFound):
        return HubError(404, f"model not deployed: {err.message}")
    if isinstance(err, InvalidOptions):
        return HubError(400, f"{err.field} {err.problem}")
    if isinstance(err, MediaTooLarge):
        return HubError(413, err.message)
    if isinstance(err, BadMedia):
        return HubError(400, err.message)
    if isinstance(err, Unprocessable | ServiceError):
        return HubError(422 if isinstance(err, Unprocessable) else 400, err.message)
    if isinstance(err, WorkersUnavailable):
        return HubError(503, err.message)
    if isinstance(err, AnalysisFailed):
        return HubError(500, f"model service error: {err.message}"[:500])
    return HubError(500, err.message[:500])


def from_job_message(message: str) -> HubError:
    """A failed queued request's answer, from its job's message (``jobs/runner.failure_message``): the model
    missing is a 404, a fault of the analysis or the worker a 500, anything else (the media) the caller's 400."""
    if message == "model not found":
        return HubError(404, "model not deployed: model not found")
    if message.startswith(("analysis failed", "job timed out", "job lost")):
        return HubError(500, f"model service error: {message}"[:500])
    return HubError(400, message[:500] or "the request failed")
