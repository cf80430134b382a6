"""PAI error answers: HTTP status, ``code`` and ``message`` as the seed's error tables give them."""

from __future__ import annotations


class PaiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


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
