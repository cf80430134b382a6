"""The speaker_classification_zh answer in the seed's shape: bare {start in microseconds: '{"class":...}\\n'}."""

from __future__ import annotations

from types import SimpleNamespace

from medialens.protocols.modelhub.format import answer


def test_each_segment_start_maps_to_its_class_line() -> None:
    result = SimpleNamespace(
        segments=[SimpleNamespace(start=0.322, label="男"), SimpleNamespace(start=20.031996, label="女")]
    )
    got = answer("speaker_classification_zh", result, {}, "req-1")
    assert got == {"322000": '{"class":"男"}\n', "20031996": '{"class":"女"}\n'}


def test_no_speech_is_an_empty_answer() -> None:
    assert answer("speaker_classification_zh", SimpleNamespace(segments=[]), {}, "req-1") == {}
