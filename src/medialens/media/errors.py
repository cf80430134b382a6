"""Errors raised while taking media in; protocols map them onto their own error shapes."""

from __future__ import annotations


class MediaError(Exception):
    """Base class: the media could not be used. ``str(err)`` is safe to show a client.

    ``hint`` says how an operator could make such media acceptable (the setting to change), or is None. It is kept
    apart from the message because the PAI protocol must keep the service's own wording; the native API and the
    logs add it.
    """

    hint: str | None = None


class FetchError(MediaError):
    """The URL could not be downloaded (DNS, connect, HTTP status, timeout).

    ``status`` is the HTTP status when the server answered, else None. The message follows the PAI seed:
    ``fetch resource failed\\tcode = 404``.
    """

    def __init__(self, message: str, status: int | None = None, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        if hint is not None:
            self.hint = hint


class BlockedURLError(FetchError):
    """The URL (or a redirect) points at a private, loopback, link-local, multicast or reserved address."""


PRIVATE_URL_HINT = "set MEDIALENS_ALLOW_PRIVATE_URLS=true to allow private addresses (only where clients are trusted)"
"""The hint of a URL refused for its private address: the one setting that allows it."""


class TooLargeError(MediaError):
    """The media is bigger than the configured limit (bytes, pixels or duration)."""


class TooSmallError(MediaError):
    """The media is below the minimum resolution."""


class DecodeError(MediaError):
    """The bytes are not a decodable image, video or audio stream."""


def hint_of(err: BaseException) -> str | None:
    """The first hint along ``err``'s causes: tasks re-raise fetch errors in their own words (``from err``)."""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        hint = getattr(current, "hint", None)
        if isinstance(hint, str) and hint:
            return hint
        current = current.__cause__
    return None


def with_hint(err: BaseException, limit: int = 500) -> str:
    """``str(err)`` cut to ``limit`` characters, then its hint, if any, in parentheses (the native API's wording)."""
    message = str(err)[:limit]
    hint = hint_of(err)
    return f"{message} ({hint})" if hint else message
