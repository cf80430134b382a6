"""Twelve Labs error answers: ``{"code", "message"}`` with the service's HTTP status (WIRE.md §C.4)."""

from __future__ import annotations

from medialens.core import (
    AlreadyExists,
    AnalysisFailed,
    BadMedia,
    CoreError,
    InvalidOptions,
    MediaTooLarge,
    ModelNotFound,
    NotFound,
    TaskNotFound,
    WorkersUnavailable,
)
from medialens.protocols.http import WireError


class TlError(WireError):
    """Twelve Labs: ``{code, message}``."""


def api_key_invalid() -> TlError:
    return TlError(401, "api_key_invalid", "The API key you provided is not valid. Please check your API key.")


def parameter_invalid(message: str) -> TlError:
    return TlError(400, "parameter_invalid", message)


def parameter_not_provided(name: str) -> TlError:
    return TlError(400, "parameter_not_provided", f"The {name} parameter is required but was not provided.")


def from_core(err: CoreError) -> TlError:
    """The one place a core error becomes a Twelve Labs answer."""
    if isinstance(err, NotFound):
        return TlError(404, "resource_not_exists", err.message)
    if isinstance(err, AlreadyExists):
        return TlError(409, "resource_already_exists", err.message)
    if isinstance(err, InvalidOptions):
        return parameter_invalid(f"The {err.field} parameter is invalid: it {err.problem}.")
    if isinstance(err, MediaTooLarge):
        return TlError(413, "video_file_too_large", err.message)
    if isinstance(err, BadMedia):
        return parameter_invalid(err.message)
    if isinstance(err, TaskNotFound | ModelNotFound):
        return TlError(503, "engine_not_available", f"indexing is not available: {err.message}")
    if isinstance(err, WorkersUnavailable):
        return TlError(503, "service_unavailable", err.message)
    if isinstance(err, AnalysisFailed):
        return TlError(500, "internal_error", err.message[:500])
    return TlError(422, "unprocessable", err.message[:500])
