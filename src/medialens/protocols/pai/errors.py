"""PAI error answers: HTTP status, ``code`` and ``message`` as the seed's error tables give them."""

from __future__ import annotations

from medialens.core import AnalysisFailed, BadMedia, CoreError, InvalidOptions, ModelNotFound, TaskNotFound
from medialens.protocols.http import WireError


class PaiError(WireError):
    """PAI: ``{request_id, code, message, data}``."""


PARAMETER_ERROR = "PARAMETER_ERROR"
SERVER_ERROR = "SERVER_ERROR"


def unknown_app(endpoint: str) -> PaiError:
    # The seed's image table spells it "note found appid", the video table "not found appid"; clients may match
    # on either, so each endpoint answers with its own table's text.
    return PaiError(400, PARAMETER_ERROR, "note found appid" if endpoint == "images" else "not found appid")


def sign_error() -> PaiError:
    return PaiError(401, PARAMETER_ERROR, "sign error")


def model_not_found() -> PaiError:
    return PaiError(404, PARAMETER_ERROR, "model not found")


def parameter_error(message: str, status: int = 400) -> PaiError:
    return PaiError(status, PARAMETER_ERROR, message)


def server_error(message: str, status: int = 422) -> PaiError:
    return PaiError(status, SERVER_ERROR, message)


def from_core(err: CoreError) -> PaiError:
    """The one place a core error becomes PAI's answer (the seed's error tables)."""
    if isinstance(err, TaskNotFound | ModelNotFound):
        return model_not_found()
    if isinstance(err, InvalidOptions):
        return parameter_error(f"configure.{err.field} {err.problem}")
    if isinstance(err, BadMedia):  # tasks word download failures as "failed to download image, err=..."
        return parameter_error(err.message)
    if isinstance(err, AnalysisFailed):
        return server_error(f"model service error: {err.message}"[:500])
    return server_error(err.message[:500])  # Unprocessable, WorkersUnavailable
