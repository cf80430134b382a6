"""Whisper base (faster-whisper, int8, VAD on) on the shared real audio clips."""

from __future__ import annotations

import json
import re
import unicodedata
from functools import cache

import numpy as np
import pytest

from medialens.config import Settings
from medialens.media.audio import read_audio
from medialens.models.pipelines import pipeline_class
from tests.conftest import MEDIA
from tests.support import ensure_models

AUDIO = MEDIA / "audio"


@cache
def _labels() -> dict[str, dict]:
    return {e["file"]: e for e in json.loads((MEDIA / "labels.json").read_text(encoding="utf-8"))}


def truth(name: str) -> dict:
    return _labels()[f"audio/{name}"]["truth"]


def words(text: str) -> list[str]:
    """Lower case, punctuation removed (apostrophes kept inside words), split on white space."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = "".join(" " if unicodedata.category(c).startswith(("P", "S")) and c != "'" else c for c in text)
    return re.sub(r"(?<!\w)'|'(?!\w)", " ", text).split()


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate: (substitutions + deletions + insertions) / reference words, by edit distance."""
    ref, hyp = words(reference), words(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1] / max(1, len(ref))


def test_wer_helper() -> None:
    assert wer("Ask not, what!", "ask not what") == 0.0
    assert wer("a b c d", "a x c") == 0.5  # one substitution, one deletion
    assert wer("a b", "a b c d") == 1.0  # two insertions


@pytest.fixture(scope="module")
def whisper():
    model_dir = ensure_models("whisper-base") / "whisper-base"
    pipe = pipeline_class("whisper-base")(model_dir, Settings())
    yield pipe
    pipe.close()


def _check_segments(result) -> None:
    last = 0.0
    for seg in result.segments:
        assert 0.0 <= seg.start <= seg.end <= result.duration_s
        assert seg.start >= last - 1e-6
        assert seg.text == seg.text.strip() and seg.text
        last = seg.start


def test_registered_with_batch_of_one() -> None:
    cls = pipeline_class("whisper-base")
    assert cls.model_name == "whisper-base"
    assert cls.max_batch_size == 1


def test_jfk_transcript(whisper) -> None:
    result = whisper(read_audio(AUDIO / "jfk_ask_not.flac"))
    reference = truth("jfk_ask_not.flac")["transcript"]
    error = wer(reference, result.text)
    print(f"JFK: {result.text!r} WER={error:.3f} lang={result.language} p={result.language_probability}")
    assert error <= 0.10
    assert result.language == "en"
    assert result.language_probability > 0.5
    assert result.language_probabilities and next(iter(result.language_probabilities)) == "en"
    assert result.duration_s == pytest.approx(11.0, abs=0.1)
    assert 5.0 < result.speech_s <= result.duration_s + 0.01
    _check_segments(result)
    d = result.to_dict()
    assert d["segments"][0]["text"] and isinstance(d["segments"][0]["start"], float)


@pytest.mark.parametrize(
    "name",
    ["librispeech_3436-172162-0000_male.ogg", "zh_speech_mid.wav", "zh_speech_long.wav"],
)
def test_language_detected(whisper, name: str) -> None:
    from medialens.models.pipelines.whisper import TranscriptionRequest

    result = whisper(TranscriptionRequest(read_audio(AUDIO / name), beam_size=1))
    print(f"{name}: lang={result.language} p={result.language_probability} text={result.text!r}")
    assert result.language == truth(name)["language"]
    assert result.language_probability > 0.5
    assert result.text
    if result.language == "zh":
        assert any("\u4e00" <= c <= "\u9fff" for c in result.text)
    _check_segments(result)  # Whisper's last timestamp overran this librispeech clip: clamped


@pytest.mark.parametrize(
    "name", ["music_kevin_macleod_vibe_ace.ogg", "music_solo_trumpet.ogg", "nature_robin_bird_call.ogg"]
)
def test_no_speech_gives_little_text(whisper, name: str) -> None:
    assert not truth(name)["contains_speech"]
    result = whisper(read_audio(AUDIO / name))
    print(f"{name}: text={result.text!r} speech_s={result.speech_s} of {result.duration_s}")
    assert len(words(result.text)) <= 5


def test_array_input_and_forced_language(whisper) -> None:
    from medialens.models.pipelines.whisper import TranscriptionRequest

    audio = read_audio(AUDIO / "jfk_ask_not.flac")
    result = whisper(TranscriptionRequest(audio, language="en", beam_size=1))
    assert result.language == "en"
    assert result.language_probability == 1.0
    assert result.language_probabilities == {}
    assert wer(truth("jfk_ask_not.flac")["transcript"], result.text) <= 0.10


def test_bad_inputs(whisper) -> None:
    from medialens.models.pipelines.whisper import TranscriptionRequest

    with pytest.raises(ValueError, match="language"):
        whisper.preprocess(TranscriptionRequest(np.zeros(16000, np.float32), language="klingon"))
    with pytest.raises(ValueError, match="mono"):
        whisper.preprocess(np.zeros((2, 16000), dtype=np.float32))
    with pytest.raises(TypeError):
        whisper.preprocess(42)
    with pytest.raises(TypeError, match="read_audio"):  # decoding is media/'s job: no paths
        whisper.preprocess(AUDIO / "jfk_ask_not.flac")
    with pytest.raises(TypeError, match="read_audio"):
        whisper.preprocess(TranscriptionRequest(str(AUDIO / "jfk_ask_not.flac")))  # type: ignore[arg-type]
    empty = whisper(np.zeros(0, dtype=np.float32))
    assert empty.text == "" and empty.segments == ()


def test_encode_only_gives_one_pooled_encoder_vector_per_30_s_window(whisper) -> None:
    from medialens.models.pipelines.whisper import TranscriptionRequest

    audio = read_audio(MEDIA / "audio" / "jfk_ask_not.flac")  # 11 s
    tripled = np.concatenate([audio] * 3)  # 33 s: two windows
    one, two = (
        whisper.run_batch([TranscriptionRequest(audio, encode_only=True)])[0],
        whisper(TranscriptionRequest(tripled, encode_only=True)),
    )
    assert [(w.start, w.end) for w in one.vectors] == [(0.0, audio.size / 16000)] and one.segments == ()
    assert [w.start for w in two.vectors] == [0.0, 30.0]
    v = one.vectors[0].vector
    assert v.shape == (512,) and np.isfinite(v).all()
    again = whisper(TranscriptionRequest(audio, encode_only=True)).vectors[0].vector
    assert np.array_equal(v, again)  # deterministic (tests/e2e compares clips: nearer within a language)


def test_detect_only_names_the_language_without_decoding_and_skips_silence(whisper) -> None:
    from medialens.models.pipelines.whisper import TranscriptionRequest

    zh = whisper(TranscriptionRequest(read_audio(MEDIA / "audio" / "zh_speech_mid.wav"), detect_only=True))
    assert zh.language == "zh" and zh.language_probability > 0.9 and zh.segments == () and zh.speech_s > 3
    silent = whisper(TranscriptionRequest(np.zeros(16000 * 5, np.float32), detect_only=True))
    assert silent.language == "" and silent.speech_s == 0.0
