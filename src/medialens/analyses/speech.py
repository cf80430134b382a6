"""Speech to text with times: Whisper base (faster-whisper, voice activity detection on) over decoded audio.

The pipeline (``models/pipelines/whisper.py``) does the model work; this module decides what a transcript keeps:
segments Whisper itself marks as probably not speech (``no_speech_prob`` above ``NO_SPEECH``, with a low mean
log-probability) are dropped, as the VOD keyword extraction does, and so are segments without a letter or digit
(Whisper writes ". . ." over music), so music and noise do not become text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from medialens.config import Settings
from medialens.models.loader import get_pipeline

MODEL = "whisper-base"
SAMPLE_RATE = 16000
NO_SPEECH = 0.6
"""A segment whose no-speech probability is above this and whose mean log-probability is below LOW_LOGPROB
is dropped (Whisper's own rule for silence, applied after decoding)."""
LOW_LOGPROB = -1.0


@dataclass(frozen=True)
class SpokenSegment:
    start: float
    end: float
    text: str


@dataclass(frozen=True)
class SpeechTranscript:
    text: str
    language: str
    language_probability: float
    segments: list[SpokenSegment]
    duration_s: float
    speech_s: float


def transcribe_audio(
    audio: np.ndarray,
    settings: Settings,
    *,
    language: str | None = None,
    translate: bool = False,
    initial_prompt: str | None = None,
    progress: Callable[[float], None] | None = None,
) -> SpeechTranscript:
    """``audio``: float32 mono at 16 kHz. ``progress`` gets the share (0-1) of the audio decoded so far;
    ``initial_prompt`` is Whisper's context for the first window (vocabulary, script)."""
    from medialens.models.pipelines.whisper import TranscriptionRequest

    duration = audio.size / SAMPLE_RATE
    on_segment = None
    if progress is not None and duration > 0:
        on_segment = lambda end: progress(min(1.0, end / duration))  # noqa: E731
    request = TranscriptionRequest(
        audio, language=language, task="translate" if translate else "transcribe",
        on_segment=on_segment,
        initial_prompt=initial_prompt,
    )
    tr = get_pipeline(MODEL, settings).run_batch([request])[0]
    kept = [
        SpokenSegment(s.start, s.end, s.text)
        for s in tr.segments
        if any(c.isalnum() for c in s.text) and not (s.no_speech_prob > NO_SPEECH and s.avg_logprob < LOW_LOGPROB)
    ]
    joiner = "" if tr.language in ("zh", "ja", "th", "lo", "my", "yue") else " "
    return SpeechTranscript(
        text=joiner.join(s.text for s in kept),
        language=tr.language,
        language_probability=tr.language_probability,
        segments=kept,
        duration_s=tr.duration_s,
        speech_s=tr.speech_s,
    )
