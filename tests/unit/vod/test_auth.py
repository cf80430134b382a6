"""Both VOD signatures verified against every captured request of the official SDKs (secret "SECRET")."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from medialens.protocols.vod import auth

CAPTURES = Path(__file__).parent / "captures"  # requests of the official SDKs, from the protocol notes (WIRE.md §B)


def _captures() -> list[dict]:
    return [
        json.loads(line) for f in sorted(CAPTURES.glob("cap_vod*.jsonl")) for line in f.read_text().splitlines() if line
    ]


def _parse(cap: dict) -> auth.SignedRequest:
    u = urlsplit(cap["path"])
    headers = {k.lower(): v for k, v in cap["headers"].items()}
    return auth.parse(cap["method"], u.path, u.query, headers, cap["body"].encode())


def test_every_capture_verifies_with_the_right_secret_only() -> None:
    caps = _captures()
    assert len(caps) == 11
    algorithms = set()
    for cap in caps:
        req = _parse(cap)
        algorithms.add(req.algorithm)
        assert req.key_id == "AKID"
        assert auth.matches(req, "SECRET"), cap["path"]
        assert not auth.matches(req, "SECRET2")
    assert algorithms == {auth.V1, auth.V3}


def test_v1_params_exclude_protocol_parameters() -> None:
    old = next(c for c in _captures() if "Action=SubmitAIJob" in c["path"] and "RegionId" in c["path"])
    req = _parse(old)
    assert req.action == "SubmitAIJob"
    assert req.params == {
        "MediaId": "m1",
        "Types": "AIVideoTag",
        "Config": '{"AIVideoTag": {"AnalyseTypes": "ocr,asr"}}',
        "UserData": '{"x":"a b*~"}',
    }


def test_v3_reads_action_and_decodes_plus_as_space() -> None:
    req = _parse(_captures()[0])
    assert req.algorithm == auth.V3 and req.action == "SubmitAIJob"
    assert req.params["UserData"] == '{"Extend":{"a":"b c"}}'
    assert req.nonce == "7a1a87784732472ff8118e5f8b8b860d"


def test_tampered_query_fails() -> None:
    cap = dict(_captures()[0])
    cap["path"] = cap["path"].replace("MediaId=m1", "MediaId=m2")
    assert not auth.matches(_parse(cap), "SECRET")


def test_unsigned_date_is_refused() -> None:
    cap = json.loads(json.dumps(_captures()[0]))
    cap["headers"]["Authorization"] = cap["headers"]["Authorization"].replace("x-acs-date;", "")
    with pytest.raises(auth.SignatureFormatError):
        _parse(cap)


def test_no_signature() -> None:
    with pytest.raises(auth.SignatureFormatError):
        auth.parse("POST", "/", "Action=X", {}, b"")


def test_freshness() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
    assert auth.fresh("2026-11-22T01:50:00Z", now)
    assert not auth.fresh("2026-11-22T01:40:00Z", now)
    assert not auth.fresh("2026-11-22T02:16:00Z", now)
    with pytest.raises(ValueError):
        auth.fresh("2026-11-22 01:50:00", now)
