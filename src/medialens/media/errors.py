"""Errors raised while taking media in; protocols map them onto their own error shapes."""

from __future__ import annotations


class MediaError(Exception):
    """Base class: the media could not be used. ``str(err)`` is safe to show a client."""


class FetchError(MediaError):
    """The URL could not be downloaded (DNS, connect, HTTP status, timeout).

    ``status`` is the HTTP status when the server answered, else None. The message follows the PAI seed:
    ``fetch resource failed\\tcode = 404``.
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class BlockedURLError(FetchError):
    """The URL (or a redirect) points at a private, loopback, link-local, multicast or reserved address."""


class TooLargeError(MediaError):
    """The media is bigger than the configured limit (bytes, pixels or duration)."""


class TooSmallError(MediaError):
    """The media is below the minimum resolution."""


class DecodeError(MediaError):
    """The bytes are not a decodable image, video or audio stream."""
