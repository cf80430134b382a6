"""Silero VAD pipeline on real audio: speech vs no speech, segments, batching."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from medialens.config import Settings
from medialens.media.audio import read_audio
from medialens.models.pipelines import pipeline_class
from medialens.models.pipelines.vad import SAMPLE_RATE, VadOptions, speech_segments
from tests.conftest import MEDIA
from tests.support import ensure_models

LABELS = [e for e in json.loads((MEDIA / "labels.json").read_text(encoding="utf-8")) if e["kind"] == "audio"]
CASES = [(e["file"], e["truth"]["contains_speech"]) for e in LABELS if "contains_speech" in e["truth"]]

# Silero finds three short (0.3-0.9 s, mean probability 0.63-0.75) "speech" segments in this 61 s jazz combo even
# at threshold 0.8; it is reported as a known false positive rather than hidden by tuning the thresholds to it.
KNOWN_FALSE_POSITIVES = {"audio/music_kevin_macleod_vibe_ace.ogg"}


@pytest.fixture(scope="module")
def vad():
    d = ensure_models("silero-vad") / "silero-vad"
    pipe = pipeline_class("silero-vad")(d, Settings())
    yield pipe
    pipe.close()


def test_labelled_files_are_covered() -> None:
    assert any(s for _, s in CASES) and any(not s for _, s in CASES)


@pytest.mark.parametrize(("name", "speech"), CASES)
def test_speech_or_not(vad, name: str, speech: bool) -> None:
    t0 = time.perf_counter()
    r = vad(read_audio(MEDIA / name))
    elapsed = time.perf_counter() - t0
    segs = [(round(s.start_s, 2), round(s.end_s, 2)) for s in r.segments]
    print(
        f"\n{name}: has_speech={r.has_speech} ratio={r.speech_ratio:.2f} max_p={r.max_probability:.3f} "
        f"{r.duration_s:.1f} s in {elapsed * 1000:.0f} ms {segs}"
    )
    assert 0.0 <= r.speech_ratio <= 1.0
    if speech:
        assert r.has_speech and r.speech_ratio > 0.5
    elif name in KNOWN_FALSE_POSITIVES:
        assert r.speech_ratio < 0.1  # speech-like moments only, far from any speech file
        if r.has_speech:
            pytest.xfail("known silero false positive on instrumental music (reported, not tuned)")
    else:
        assert not r.has_speech and r.segments == []


def test_segments_are_ordered_and_inside(vad) -> None:
    r = vad(read_audio(MEDIA / "audio/jfk_ask_not.flac"))
    assert len(r.segments) >= 2  # the speech has clear pauses
    prev_end = 0.0
    for s in r.segments:
        assert prev_end <= s.start_s < s.end_s <= r.duration_s + 1e-6
        assert s.duration_s >= 0.25
        prev_end = s.end_s


def test_batch_matches_single(vad) -> None:
    names = ["audio/zh_speech_mid.wav", "audio/nature_robin_bird_call.ogg", "audio/jfk_ask_not.flac"]
    clips = [read_audio(MEDIA / n) for n in names]
    batch = vad.run_batch(clips)
    for clip, b in zip(clips, batch, strict=True):
        assert b.segments == vad(clip).segments


def test_samples_input_and_silence(vad) -> None:
    silence = np.zeros(SAMPLE_RATE * 2, np.float32)
    r = vad(silence)
    assert not r.has_speech and r.speech_ratio == 0.0
    assert vad.probabilities(silence).shape == (2 * SAMPLE_RATE // 512 + 1,)


def test_paths_are_refused(vad) -> None:
    """Decoding is media/'s job: the pipeline takes samples only."""
    with pytest.raises(TypeError, match="read_audio"):
        vad(MEDIA / "audio/jfk_ask_not.flac")
    with pytest.raises(TypeError, match="read_audio"):
        vad(str(MEDIA / "audio/jfk_ask_not.flac"))


def test_segmentation_rules() -> None:
    w = 512 / SAMPLE_RATE
    probs = np.array([0.0] * 10 + [0.9] * 40 + [0.0] * 2 + [0.9] * 20 + [0.0] * 30 + [0.9] * 3 + [0.0] * 10)
    segs = speech_segments(probs, len(probs) * 512, VadOptions(speech_pad_ms=0))
    # the 2-window (64 ms) dip is shorter than min_silence (100 ms) and is bridged; the 3-window blip (96 ms) is
    # shorter than min_speech (250 ms) and dropped
    assert len(segs) == 1
    assert segs[0].start_s == pytest.approx(10 * w) and segs[0].end_s == pytest.approx(72 * w)
