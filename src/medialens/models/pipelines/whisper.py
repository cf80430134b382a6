"""Speech recognition with Whisper base (multilingual) through faster-whisper / CTranslate2, int8 on the CPU.

Voice activity detection is on by default: faster-whisper carries its own Silero VAD ONNX file
(``faster_whisper/assets/silero_vad_v6.onnx``), so nothing is downloaded at run time. Without it, Whisper
tends to invent text over music and noise. The model is always loaded from the installed directory, never
from a hub.

Input: decoded audio, float32 mono at 16 kHz (``medialens.media.audio.read_audio(path)`` decodes any container
FFmpeg reads), or a ``TranscriptionRequest`` that also carries per-request options (language, beam size, task,
VAD, prompt). Reading files is media/'s job, not the model's: the pipeline takes no paths.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Literal

import numpy as np

from medialens.config import Settings
from medialens.models.pipeline import Pipeline
from medialens.models.pipelines import register_pipeline

SAMPLE_RATE = 16000


@dataclass(frozen=True)
class TranscriptionRequest:
    """One audio input plus options; ``language=None`` lets Whisper detect the language."""

    audio: np.ndarray
    """float32 mono samples at 16 kHz in [-1, 1]."""
    language: str | None = None
    beam_size: int = 5
    task: Literal["transcribe", "translate"] = "transcribe"
    vad_filter: bool = True
    initial_prompt: str | None = None
    max_seconds: float | None = None
    detect_only: bool = False
    encode_only: bool = False
    """Only the encoder: one mean-pooled state vector per 30-s window (``Transcription.vectors``), no decoding."""
    """Only voice activity detection and language identification: no segments are decoded (far cheaper)."""
    on_segment: Callable[[float], None] | None = None
    """Called with each decoded segment's end time (seconds): progress; an exception it raises stops decoding."""


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    text: str
    avg_logprob: float
    no_speech_prob: float


@dataclass(frozen=True)
class EncodedWindow:
    start: float
    end: float
    vector: np.ndarray
    """float32, the encoder's width (512 for base)."""


@dataclass(frozen=True)
class Transcription:
    text: str
    language: str
    language_probability: float
    segments: tuple[Segment, ...]
    duration_s: float
    speech_s: float
    """Audio left after voice activity detection (equals ``duration_s`` without VAD)."""
    language_probabilities: dict[str, float] = field(default_factory=dict)
    """The five most likely languages (only when the language was detected, not given)."""
    vectors: tuple[EncodedWindow, ...] = ()
    """``encode_only``: the encoder's states averaged over each 30-s window's real audio (not its padding)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Prepared:
    audio: np.ndarray
    request: TranscriptionRequest


def _as_request(item: TranscriptionRequest | np.ndarray) -> TranscriptionRequest:
    if isinstance(item, TranscriptionRequest):
        return item
    if isinstance(item, np.ndarray):
        return TranscriptionRequest(audio=item)
    raise TypeError(
        f"whisper input must be a 16 kHz mono float32 array or a TranscriptionRequest, not {type(item).__name__}"
        " (decode files with medialens.media.audio.read_audio)"
    )


def _drain(segments: Any, on_segment: Callable[[float], None] | None) -> list[Any]:
    """The segments generator does the decoding: drain it here, telling ``on_segment`` how far it got."""
    out = []
    for seg in segments:
        out.append(seg)
        if on_segment is not None:
            on_segment(float(seg.end))
    return out


MIN_SPEECH_S = 0.5
WINDOW_S = 30
"""Whisper's input window (the encoder always sees 30 s, padded)."""


def _silent(audio: np.ndarray) -> Any | None:
    """For ``detect_only``: Whisper's info for audio where Silero VAD hears under MIN_SPEECH_S of speech (Whisper
    would still run its encoder to name a language), else None."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    speech = sum(c["end"] - c["start"] for c in get_speech_timestamps(audio, VadOptions())) / SAMPLE_RATE
    if speech >= MIN_SPEECH_S:
        return None
    return SimpleNamespace(
        language="",
        language_probability=0.0,
        all_language_probs=None,
        duration_after_vad=speech,
        duration=audio.size / SAMPLE_RATE,
    )


@register_pipeline
class WhisperPipeline(Pipeline[TranscriptionRequest | np.ndarray, _Prepared, Transcription]):
    """Whisper base, multilingual (99 languages), CTranslate2 int8."""

    model_name = "whisper-base"
    max_batch_size = 1

    def __init__(self, model_dir: Path, settings: Settings) -> None:
        super().__init__(model_dir, settings)
        from faster_whisper import WhisperModel

        self._model = WhisperModel(
            str(model_dir),
            device="cpu",
            compute_type="int8",
            cpu_threads=max(0, settings.model_threads),
            local_files_only=True,
        )
        self._languages = frozenset(self._model.supported_languages)
        self._lock = threading.Lock()

    def preprocess(self, item: TranscriptionRequest | np.ndarray) -> _Prepared:
        req = _as_request(item)
        if req.language is not None and req.language not in self._languages:
            raise ValueError(f"unsupported language {req.language!r} (Whisper takes ISO codes such as 'en', 'zh')")
        if req.beam_size < 1:
            raise ValueError("beam_size must be at least 1")
        if req.task not in ("transcribe", "translate"):
            raise ValueError(f"task must be 'transcribe' or 'translate', not {req.task!r}")
        if not isinstance(req.audio, np.ndarray):
            raise TypeError(
                f"TranscriptionRequest.audio must be a 16 kHz mono float32 array, not {type(req.audio).__name__}"
                " (decode files with medialens.media.audio.read_audio)"
            )
        audio = np.asarray(req.audio, dtype=np.float32)
        if audio.ndim != 1:
            raise ValueError(f"audio array must be mono (1-D) at {SAMPLE_RATE} Hz, got shape {audio.shape}")
        if req.max_seconds is not None:
            audio = audio[: max(0, round(req.max_seconds * SAMPLE_RATE))]
        return _Prepared(audio=np.ascontiguousarray(audio), request=req)

    def forward(self, batch: Sequence[_Prepared]) -> list[tuple[list[Any], Any]]:
        outs = []
        for pre in batch:
            req = pre.request
            if pre.audio.size == 0:
                outs.append(([], None))
                continue
            if req.encode_only:
                outs.append((self._encode(pre.audio), None))
                continue
            if req.detect_only and (silent := _silent(pre.audio)) is not None:
                outs.append(([], silent))  # no speech for the VAD: nothing to identify
                continue
            with self._lock:
                segments, info = self._model.transcribe(
                    pre.audio,
                    language=req.language,
                    task=req.task,
                    beam_size=req.beam_size,
                    vad_filter=req.vad_filter,
                    initial_prompt=req.initial_prompt,
                )
                # the segments are a lazy generator: language and VAD are known before any is decoded
                outs.append(([] if req.detect_only else _drain(segments, req.on_segment), info))
        return outs

    def _encode(self, audio: np.ndarray) -> list[EncodedWindow]:
        """Whisper's encoder over each 30-s window; the states of the window's real audio (2 mel frames per state)
        are averaged."""
        from faster_whisper.audio import pad_or_trim

        out = []
        window = WINDOW_S * SAMPLE_RATE
        for at in range(0, audio.size, window):
            chunk = audio[at : at + window]
            mel = self._model.feature_extractor(chunk)
            with self._lock:
                states = np.asarray(self._model.encode(pad_or_trim(mel)))[0]
            used = max(1, min(states.shape[0], -(-mel.shape[-1] // 2)))
            vector = states[:used].mean(axis=0).astype(np.float32)
            out.append(EncodedWindow(at / SAMPLE_RATE, (at + chunk.size) / SAMPLE_RATE, vector))
        return out

    def postprocess(
        self, raw: tuple[list[Any], Any], item: TranscriptionRequest | np.ndarray, pre: _Prepared
    ) -> Transcription:
        segments, info = raw
        duration = pre.audio.size / SAMPLE_RATE
        if pre.request.encode_only:
            return Transcription("", "", 0.0, (), round(duration, 3), round(duration, 3), vectors=tuple(segments))
        if info is None:  # empty audio: nothing to detect
            return Transcription("", pre.request.language or "", 0.0, (), 0.0, 0.0)
        out = []
        for s in segments:
            text = s.text.strip()
            if not text:
                continue
            # Whisper's last timestamp can run past the end of the audio: clamp to what exists.
            start = round(min(max(float(s.start), 0.0), duration), 3)
            end = round(min(max(float(s.end), start), duration), 3)
            out.append(Segment(start, end, text, round(float(s.avg_logprob), 4), round(float(s.no_speech_prob), 4)))
        # Segment texts carry their own leading space where the language uses spaces (none for zh/ja).
        full = "".join(s.text for s in segments).strip()
        top = {}
        if pre.request.language is None and info.all_language_probs:
            top = {lang: round(float(p), 4) for lang, p in info.all_language_probs[:5]}
        speech = info.duration_after_vad if info.duration_after_vad is not None else info.duration
        return Transcription(
            text=full,
            language=info.language,
            language_probability=round(float(info.language_probability), 4),
            segments=tuple(out),
            duration_s=round(duration, 3),
            speech_s=round(float(speech), 3),
            language_probabilities=top,
        )

    def close(self) -> None:
        model = getattr(self, "_model", None)
        if model is not None:
            self._model = None
            del model
