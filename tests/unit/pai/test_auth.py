"""PAI signatures, checked on requests captured from the official ai-service-python-sdk 1.1.5."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medialens.protocols.pai.auth import (
    authorization_header,
    signature_matches,
    split_authorization,
    string_to_sign,
)

CAPTURES = [
    json.loads(line)
    for name in ("cap_ai.jsonl", "cap_ai_err.jsonl")
    for line in (Path(__file__).parent / "captures" / name).read_text().splitlines()
    if line.strip()
]


def _raw(req: dict) -> bytes:
    return (req.get("body") or "").encode()


@pytest.mark.parametrize("req", CAPTURES, ids=lambda r: f"{r['method']} {r['path']}")
def test_captured_request_verifies(req: dict) -> None:
    app_id, sig = split_authorization(req["headers"]["Authorization"])
    assert app_id == "myappid"
    assert signature_matches("mytoken", req["method"], req["path"], _raw(req), sig)
    assert (
        authorization_header("myappid", "mytoken", req["method"], req["path"], _raw(req))
        == (req["headers"]["Authorization"])
    )


@pytest.mark.parametrize("req", CAPTURES[:3], ids=lambda r: r["path"])
def test_wrong_token_body_method_or_path_fails(req: dict) -> None:
    _, sig = split_authorization(req["headers"]["Authorization"])
    raw = _raw(req)
    assert not signature_matches("othertoken", req["method"], req["path"], raw, sig)
    assert not signature_matches("mytoken", req["method"], req["path"], raw + b" ", sig)
    assert not signature_matches("mytoken", "GET", req["path"], raw, sig)
    assert not signature_matches("mytoken", req["method"], req["path"] + "x", raw, sig)


def test_get_batch_job_signs_the_empty_body() -> None:
    get = next(r for r in CAPTURES if r["method"] == "GET")
    assert string_to_sign("GET", get["path"], b"").split("\n")[1] == "d41d8cd98f00b204e9800998ecf8427e"


def test_async_job_signs_empty_object() -> None:
    post = next(r for r in CAPTURES if "async_jobs" in r["path"])
    assert post["body"] == "{}"


@pytest.mark.parametrize("header", [None, "", "no-colon-here"])
def test_malformed_header(header: str | None) -> None:
    assert split_authorization(header) is None


def test_split_on_first_colon_only() -> None:
    assert split_authorization("app:sig:with:colons") == ("app", "sig:with:colons")
