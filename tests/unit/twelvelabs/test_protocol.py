"""Request parsing of the Twelve Labs protocol (classify bodies) and its error mapping."""

from __future__ import annotations

import pytest

from medialens.core import AlreadyExists, InvalidOptions, NotFound
from medialens.protocols.twelvelabs.errors import TlError, from_core
from medialens.protocols.twelvelabs.routes import parse_classify

CAPTURED = {
    "video_ids": ["vid1", "vid2"],
    "options": ["visual", "conversation"],
    "classes": [
        {"name": "DanceTok", "prompts": ["Dance tutorial", "Dance group"]},
        {"name": "CookTok", "prompts": ["Cooking tutorial"], "options": ["conversation"]},
    ],
    "conversation_option": "semantic",
    "page_limit": 10,
    "include_clips": True,
    "threshold": {"min_video_score": 50},
    "show_detailed_score": True,
}


def test_captured_request_parses() -> None:
    req = parse_classify(CAPTURED, bulk=False)
    assert req.video_ids == ["vid1", "vid2"] and req.page_limit == 10 and req.min_video_score == 50
    assert req.classes[0].options == ("visual", "conversation") and req.classes[1].options == ("conversation",)
    assert req.include_clips and req.show_detailed_score and req.min_clip_score == 50


@pytest.mark.parametrize(
    "change",
    [
        {"options": ["smell"]},
        {"options": []},
        {"classes": []},
        {"conversation_option": "fuzzy"},
        {"page_limit": 0},
        {"threshold": {"min_video_score": 101}},
        {"include_clips": "yes"},
        {"classes": [{"name": "a", "prompts": []}]},
        {"classes": [{"name": "a", "prompts": ["x"]}, {"name": "a", "prompts": ["y"]}]},
    ],
)
def test_bad_requests_are_400(change: dict) -> None:
    with pytest.raises(TlError) as err:
        parse_classify(CAPTURED | change, bulk=False)
    assert err.value.status == 400 and err.value.code.startswith("parameter_")


def test_bulk_needs_index_id() -> None:
    with pytest.raises(TlError):
        parse_classify(CAPTURED, bulk=True)
    assert parse_classify(CAPTURED | {"index_id": "i"}, bulk=True).index_id == "i"


def test_core_errors_map_to_statuses() -> None:
    assert from_core(NotFound("x")).status == 404
    assert from_core(AlreadyExists("x")).status == 409
    assert from_core(InvalidOptions("index_name", "must not be empty")).status == 400
