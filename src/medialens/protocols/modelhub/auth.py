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
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

DATE_SKEW = timedelta(hours=14)
PREFIX = "EAS "


def string_to_sign(method: str, md5hex: str, content_type: str, date: str, path: str) -> str:
    return f"{method.upper()}\n{md5hex}\n{content_type}\n{date}\n{path}"


def signature(token: str, method: str, body: bytes, content_type: str, date: str, path: str) -> str:
    msg = string_to_sign(method, hashlib.md5(body).hexdigest(), content_type, date, path).encode()
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
) -> bool:
    """Whether the request carries the service's token, signed or plain."""
    if not authorization or not token:
        return False
    given = authorization.strip().encode("utf-8", "replace")
    if authorization.startswith(PREFIX):
        if not date or not date_acceptable(date, now):
            return False
        expected = signature(token, method, body, content_type, date, path).encode()
        return hmac.compare_digest(expected, authorization[len(PREFIX) :].strip().encode("utf-8", "replace"))
    return hmac.compare_digest(token.encode(), given)
