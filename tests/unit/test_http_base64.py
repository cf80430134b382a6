"""The protocols' strict base64 (protocols/http.py): SIMD-decoded, yet the same bytes and the same refusals as
``base64.b64decode(text, validate=True)``, whose quirks (excess padding accepted) requests may rely on."""

from __future__ import annotations

import base64
import binascii
import random

import pytest

from medialens.protocols.http import b64decode


def _stdlib(text: str | bytes) -> bytes | str:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return "refused"


def _ours(text: str | bytes) -> bytes | str:
    try:
        return b64decode(text)
    except (binascii.Error, ValueError):
        return "refused"


@pytest.mark.parametrize(
    "text",
    ["", "QQ==", "QUI=", "QUJD", b"QUJD", "QUJD====", "QUJD=", "QQ", "QQ=", "QQ===", "Q", "====", "QU JD", "QUJD\n",
     "QU=JD", "-_--", "QUJ\x00", "QQ==QQ==", "é"],
)  # fmt: skip
def test_same_bytes_and_refusals_as_the_standard_library(text: str | bytes) -> None:
    assert _ours(text) == _stdlib(text)


def test_excess_padding_is_accepted_as_the_standard_library_accepts_it() -> None:
    assert b64decode("QUJD====") == b"ABC"  # pybase64 refuses it; the fallback keeps what was accepted before


def test_random_text_and_real_payloads_agree() -> None:
    rng = random.Random(7)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/= \n-_"
    for _ in range(20_000):
        text = base64.b64encode(rng.randbytes(rng.randint(0, 12))).decode()[: rng.randint(0, 20)]
        text += "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 3)))
        assert _ours(text) == _stdlib(text), text
    payload = rng.randbytes(300_000)
    assert b64decode(base64.b64encode(payload).decode()) == payload
