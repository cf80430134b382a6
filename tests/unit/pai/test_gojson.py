"""Go/Echo-style body decoding: types, offsets and messages."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from medialens.protocols.pai.gojson import GoJSONError, decode
from medialens.protocols.pai.schemas import BATCH_VIDEO_REQUEST, IMAGE_REQUEST, VIDEO_REQUEST


def test_decodes_sdk_body() -> None:
    raw = b'{"action": "ImageQA", "image": "http://x/a.jpg", "model_name": "", "configure": {"n": 1}}'
    assert decode(raw, IMAGE_REQUEST) == {
        "action": "ImageQA",
        "image": "http://x/a.jpg",
        "model_name": "",
        "configure": {"n": 1},
    }


def test_seed_unmarshal_message_exactly() -> None:
    raw = b'{"action": "ImageQA", "image": 12345678901, "model_name": ""}'
    with pytest.raises(GoJSONError) as err:
        decode(raw, IMAGE_REQUEST)
    assert str(err.value) == (
        "Unmarshal type error: expected=string, got=number, field=image, offset=42, internal=json: cannot "
        "unmarshal number into Go struct field ImageRequest.image of type string"
    )


@pytest.mark.parametrize(
    ("raw", "struct", "fragment"),
    [
        (
            b'{"configure": "x"}',
            IMAGE_REQUEST,
            "expected=map[string]interface {}, got=string, field=configure",
        ),
        (b'{"images": ["a", 3]}', VIDEO_REQUEST, "expected=string, got=number, field=images"),
        (b'{"images": "a"}', VIDEO_REQUEST, "expected=[]string, got=string, field=images"),
        (b'{"videos": [{"url": true}]}', BATCH_VIDEO_REQUEST, "got=bool, field=videos.url"),
        (b'{"videos": {"url": "x"}}', BATCH_VIDEO_REQUEST, "expected=[]BatchVideoRequestVideos, got=object"),
        (b"[1, 2]", IMAGE_REQUEST, "expected=ImageRequest, got=array"),
    ],
)
def test_type_errors(raw: bytes, struct, fragment: str) -> None:
    with pytest.raises(GoJSONError, match="Unmarshal type error") as err:
        decode(raw, struct)
    assert fragment in str(err.value)


@pytest.mark.parametrize("raw", [b"", b"{", b'{"a": }', b'{"a": 1} x', b"\xff\xfe", b'{"a" 1}', b"[" * 5000])
def test_syntax_errors(raw: bytes) -> None:
    with pytest.raises(GoJSONError, match="Syntax error: offset="):
        decode(raw, IMAGE_REQUEST)


def test_nulls_and_unknown_keys_are_ignored_and_keys_match_case_insensitively() -> None:
    raw = b'{"Image": "u", "model_name": null, "extra": [1, {"x": 2}]}'
    assert decode(raw, IMAGE_REQUEST) == {"image": "u"}


def test_offsets_count_bytes_not_characters() -> None:
    raw = '{"action": "\u56fe\u7247", "image": 1}'.encode()
    with pytest.raises(GoJSONError) as err:
        decode(raw, IMAGE_REQUEST)
    assert f"offset={len(raw) - 1}," in str(err.value)


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
        lambda c: st.lists(c) | st.dictionaries(st.text(), c),
        max_leaves=20,
    )
)
def test_any_json_decodes_or_gives_a_go_error(value: object) -> None:
    raw = json.dumps({"image": value, "configure": value}).encode()
    try:
        out = decode(raw, IMAGE_REQUEST)
    except GoJSONError as err:
        assert str(err).startswith("Unmarshal type error")
    else:
        assert set(out) <= {"image", "configure"}


@given(st.binary(max_size=200))
def test_random_bytes_never_crash(raw: bytes) -> None:
    with contextlib.suppress(GoJSONError):
        decode(raw, VIDEO_REQUEST)
