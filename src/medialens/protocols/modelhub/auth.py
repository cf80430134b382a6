"""EAS request authentication (WIRE.md §D.1): the client's signature, or the service token as is.

Signed form: ``Authorization: EAS base64(HMAC-SHA1(token, "POST\\n{md5hex}\\n{content_type}\\n{date}\\n{path}"))``
with ``Content-MD5`` the hex MD5 of the body. The MD5 is recomputed over the body as received (a client may not
vouch for its own body). ``Date`` is the client's local time labelled GMT, so it is bounded loosely (±14 h).
Plain form (``custom_url`` clients and the queue client): ``Authorization: <token>``. Comparisons are constant-time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

DATE_SKEW = timedelta(hours=14)
PREFIX = "EAS "


def string_to_sign(method: str, md5hex: str, content_type: str, date: str, path: str) -> str:
    return f"{method.upper()}\n{md5hex}\n{content_type}\n{date}\n{path}"


def body_md5(body: bytes) -> str:
    return hashlib.md5(body).hexdigest()


def signature(
    token: str, method: str, body: bytes, content_type: str, date: str, path: str, md5hex: str | None = None
) -> str:
    """``md5hex``: the body's MD5 when the caller already has it (hashed aside while the body was parsed)."""
    md5hex = body_md5(body) if md5hex is None else md5hex
    msg = string_to_sign(method, md5hex, content_type, date, path).encode()
    return base64.b64encode(hmac.new(token.encode(), msg, hashlib.sha1).digest()).decode("ascii")


def authorization_header(token: str, body: bytes, content_type: str, date: str, path: str) -> str:
    """What the official client sends (for our own tools and tests)."""
    return PREFIX + signature(token, "POST", body, content_type, date, path)


def date_acceptable(date: str, now: datetime | None = None) -> bool:
    """A parseable RFC 1123 date within ±14 h of now (the client writes local time labelled GMT)."""
    try:
        when = parsedate_to_datetime(date)
    except (TypeError, ValueError, IndexError):
        return False
    if when is None:
        return False
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return abs((now or datetime.now(UTC)) - when) <= DATE_SKEW


def authorized(
    token: str,
    authorization: str | None,
    *,
    method: str,
    body: bytes,
    content_type: str,
    date: str | None,
    path: str,
    now: datetime | None = None,
    md5hex: Callable[[], str] | None = None,
) -> bool:
    """Whether the request carries the service's token, signed or plain. ``md5hex`` gives the body's MD5 where
    the caller hashes it itself (asked for only when the request is signed); else it is computed here."""
    if not authorization or not token:
        return False
    given = authorization.strip().encode("utf-8", "replace")
    if authorization.startswith(PREFIX):
        if not date or not date_acceptable(date, now):
            return False
        expected = signature(token, method, body, content_type, date, path, md5hex() if md5hex else None).encode()
        return hmac.compare_digest(expected, authorization[len(PREFIX) :].strip().encode("utf-8", "replace"))
    return hmac.compare_digest(token.encode(), given)
