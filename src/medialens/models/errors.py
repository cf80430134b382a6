"""Errors of the model store, so callers can tell "not deployed" from "download failed" from "tampered"."""

from __future__ import annotations


class ModelError(Exception):
    """Base class for model-store errors; ``str(err)`` is safe to show an operator."""


class UnknownModelError(ModelError, LookupError):
    """No spec of that name is registered."""

    def __init__(self, name: str) -> None:
        super().__init__(f"unknown model {name!r} (see `medialens models list`)")
        self.name = name


class ModelNotInstalledError(ModelError):
    """The model's files are not in the model directory: protocols answer "model not found" with the hint."""

    def __init__(self, name: str, hint: str | None = None) -> None:
        self.name = name
        self.hint = hint or f"run `medialens models pull {name}`"
        super().__init__(f"model {name!r} is not installed: {self.hint}")


class SourceError(ModelError):
    """A weight source could not deliver (registry metadata, HTTP status, missing archive member)."""


class OfflineError(SourceError):
    """Network access is switched off (``HF_HUB_OFFLINE``) and the file is not in the local cache."""


class ChecksumError(SourceError):
    """A downloaded or extracted file does not match its pinned digest; it was discarded."""

    def __init__(self, what: str, expected: str, actual: str) -> None:
        super().__init__(f"{what}: checksum mismatch (expected {expected}, got {actual})")
        self.what = what
        self.expected = expected
        self.actual = actual
