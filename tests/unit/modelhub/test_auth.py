"""EAS authentication on the captured request (WIRE.md §D.1, captures/cap_eas.jsonl, token ``mytoken==``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from medialens.protocols.modelhub.auth import authorization_header, authorized, date_acceptable, signature

TOKEN = "mytoken=="
CAPTURES = Path(__file__).parent / "captures" / "cap_eas.jsonl"  # from the protocol notes (WIRE.md §D)
CAPTURED_AT = datetime(2026, 11, 29, 7, 5, 39, tzinfo=UTC)


@pytest.fixture(scope="module")
def signed() -> dict:
    return json.loads(CAPTURES.read_text().splitlines()[0])


def _check(req: dict, token: str = TOKEN, now: datetime = CAPTURED_AT, **changes: object) -> bool:
    h = req["headers"] | {k: v for k, v in changes.items() if k[0].isupper()}
    return authorized(
        token,
        h.get("Authorization"),
        method=req["method"],
        body=changes.get("body", req["body"].encode()),  # type: ignore[arg-type]
        content_type=h.get("Content-Type", ""),
        date=h.get("Date"),
        path=req["path"],
        now=now,
    )


def test_the_captured_signature_recomputes(signed: dict) -> None:
    h = signed["headers"]
    sig = signature(TOKEN, "POST", signed["body"].encode(), h["Content-Type"], h["Date"], signed["path"])
    assert f"EAS {sig}" == h["Authorization"] == "EAS gkQjp20dzcMLC32zk85CSiWZNic="
    assert (
        authorization_header(TOKEN, signed["body"].encode(), h["Content-Type"], h["Date"], signed["path"])
        == (h["Authorization"])
    )
    assert _check(signed)


def test_anything_changed_breaks_the_signature(signed: dict) -> None:
    assert not _check(signed, token="other==")
    assert not _check(signed, body=b'{"image":"aGVsbG9="}')  # the body is hashed as received
    assert not _check(signed, **{"Content-Type": "application/json"})
    assert not _check(signed, **{"Date": "Sun, 29 Nov 2026 07:05:40 GMT"})
    assert not _check(signed, **{"Authorization": "EAS " + "A" * 28})
    assert not _check(signed, **{"Authorization": ""})


def test_the_local_time_date_quirk_is_allowed_within_14_hours(signed: dict) -> None:
    # the client labels its local time GMT: a client in UTC+8 or UTC-10 is hours off, still valid
    assert _check(signed, now=CAPTURED_AT + timedelta(hours=8))
    assert _check(signed, now=CAPTURED_AT - timedelta(hours=13, minutes=59))
    assert not _check(signed, now=CAPTURED_AT + timedelta(hours=14, minutes=1))
    assert not date_acceptable("yesterday", CAPTURED_AT)
    assert not _check(signed, **{"Date": "not a date"})


def test_the_plain_token_form_of_custom_url_and_queue_clients() -> None:
    plain = json.loads(CAPTURES.read_text().splitlines()[1])
    assert plain["headers"]["Authorization"] == TOKEN
    assert _check(plain)  # no Date, no signature: the token as is
    assert not _check(plain, token="mytoken")
    assert not _check(plain, **{"Authorization": "mytoken==x"})
    assert not _check(plain, **{"Authorization": "EAS mytoken=="})
