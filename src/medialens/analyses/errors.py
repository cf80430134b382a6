"""Errors an analysis raises when valid input cannot give an answer."""


class UnprocessableError(Exception):
    """The input is valid but the analysis cannot produce an answer for it (e.g. no person to reshape).

    ``str()`` is shown to the client as is (PAI: 422 SERVER_ERROR; jobs: state 3).
    """
