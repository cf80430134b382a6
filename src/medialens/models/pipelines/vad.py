"""Silero VAD (v5/v6 ONNX): speech probability per 32 ms window of 16 kHz audio, then speech segments.

The graph takes ``input`` [batch, 64 + 512] (the last 64 samples of the previous window as context, then the new
512-sample window), ``state`` [2, batch, 128] (the recurrent state, carried from window to window) and ``sr``
(int64, 16000), and returns the speech probability [batch, 1] and the next state. Several files run as one batch:
shorter ones are zero-padded at the end, which cannot affect their earlier windows.

Segmentation follows the rules of silero's ``get_speech_timestamps``: speech starts at the first window at or
above ``threshold``; it ends once the probability has stayed below ``threshold - 0.15`` for
``min_silence_ms``; segments shorter than ``min_speech_ms`` are dropped, segments longer than
``max_speech_s`` are split (at the last long-enough pause if there was one), and each segment is padded by
``speech_pad_ms`` on both sides without overlapping its neighbours.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from medialens.config import Settings
from medialens.models.pipeline import Pipeline
from medialens.models.pipelines import register_pipeline

if TYPE_CHECKING:
    import numpy as np

MODEL_FILE = "silero_vad.onnx"
SAMPLE_RATE = 16000
WINDOW = 512
CONTEXT = 64


@dataclass(frozen=True)
class VadOptions:
    threshold: float = 0.5
    neg_threshold: float | None = None
    """Probability below which speech may end; ``threshold - 0.15`` (at least 0.01) when None."""
    min_speech_ms: int = 250
    min_silence_ms: int = 100
    max_speech_s: float = float("inf")
    speech_pad_ms: int = 30
    max_seconds: float | None = None
    """Use at most this much of the audio (None: all of it)."""


@dataclass(frozen=True)
class SpeechSegment:
    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class VadResult:
    segments: list[SpeechSegment]
    duration_s: float
    speech_s: float
    speech_ratio: float
    has_speech: bool
    max_probability: float
    window_s: float = WINDOW / SAMPLE_RATE

    def to_dict(self) -> dict[str, Any]:
        return {
            "has_speech": self.has_speech,
            "speech_ratio": round(self.speech_ratio, 4),
            "speech_s": round(self.speech_s, 3),
            "duration_s": round(self.duration_s, 3),
            "max_probability": round(self.max_probability, 4),
            "segments": [{"start_s": round(s.start_s, 3), "end_s": round(s.end_s, 3)} for s in self.segments],
        }


@register_pipeline
class SileroVadPipeline(Pipeline["np.ndarray", "np.ndarray", VadResult]):
    """Decoded audio (16 kHz float32 samples, mono or channels to average) → :class:`VadResult`.

    Files are decoded by ``medialens.media.audio.read_audio(path)`` before they get here; the pipeline takes no paths.

    ``postprocess`` returns the :class:`VadResult`; ``probabilities(samples)`` gives the raw per-window speech
    probabilities for callers that segment differently.
    """

    model_name: ClassVar[str] = "silero-vad"
    max_batch_size: ClassVar[int] = 8

    def __init__(self, model_dir: Path, settings: Settings, options: VadOptions | None = None) -> None:
        super().__init__(model_dir, settings)
        from medialens.models.runtime import onnx_session

        self.options = options or VadOptions()
        self._session = onnx_session(model_dir / MODEL_FILE, settings)
        names = {i.name for i in self._session.get_inputs()}
        if not {"input", "state", "sr"} <= names:
            raise RuntimeError(f"unexpected silero VAD inputs {sorted(names)} (want input, state, sr)")

    def preprocess(self, item: np.ndarray) -> np.ndarray:
        import numpy as np

        if not isinstance(item, np.ndarray):
            raise TypeError(
                f"silero VAD takes 16 kHz float32 samples, not {type(item).__name__}"
                " (decode files with medialens.media.audio.read_audio)"
            )
        samples = np.asarray(item, dtype=np.float32)
        if samples.ndim == 2:  # channels x samples or samples x channels: average to mono
            samples = samples.mean(axis=0 if samples.shape[0] < samples.shape[1] else 1)
        if samples.ndim != 1:
            raise ValueError(f"expected 1-D mono samples, got shape {samples.shape}")
        if self.options.max_seconds is not None:
            samples = samples[: max(0, round(self.options.max_seconds * SAMPLE_RATE))]
        return np.ascontiguousarray(samples)

    def forward(self, batch: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Speech probability per 512-sample window, one array per item."""
        import numpy as np

        if not batch:
            return []
        n_windows = [max(1, -(-len(x) // WINDOW)) for x in batch]
        total = max(n_windows) * WINDOW
        audio = np.zeros((len(batch), CONTEXT + total), np.float32)
        for k, x in enumerate(batch):
            audio[k, CONTEXT : CONTEXT + len(x)] = x
        state = np.zeros((2, len(batch), 128), np.float32)
        sr = np.array(SAMPLE_RATE, dtype=np.int64)
        probs = np.empty((len(batch), max(n_windows)), np.float32)
        for w in range(max(n_windows)):
            chunk = audio[:, w * WINDOW : w * WINDOW + CONTEXT + WINDOW]
            out, state = self._session.run(None, {"input": chunk, "state": state, "sr": sr})
            probs[:, w] = out[:, 0]
        return [probs[k, : n_windows[k]] for k in range(len(batch))]

    def probabilities(self, samples: np.ndarray) -> np.ndarray:
        return self.forward([self.preprocess(samples)])[0]

    def postprocess(self, raw: np.ndarray, item: np.ndarray, pre: np.ndarray) -> VadResult:
        n = len(pre)
        segments = speech_segments(raw, n, self.options)
        duration = n / SAMPLE_RATE
        speech = sum(s.duration_s for s in segments)
        return VadResult(
            segments=segments,
            duration_s=duration,
            speech_s=speech,
            speech_ratio=speech / duration if duration > 0 else 0.0,
            has_speech=bool(segments),
            max_probability=float(raw.max()) if len(raw) else 0.0,
        )

    def close(self) -> None:
        self._session = None


def speech_segments(probs: np.ndarray, n_samples: int, options: VadOptions | None = None) -> list[SpeechSegment]:
    """Per-window probabilities → padded speech segments in seconds (silero's get_speech_timestamps rules)."""
    o = options or VadOptions()
    neg = o.neg_threshold if o.neg_threshold is not None else max(o.threshold - 0.15, 0.01)
    sr = SAMPLE_RATE
    min_speech = sr * o.min_speech_ms / 1000
    min_silence = sr * o.min_silence_ms / 1000
    min_silence_at_max = sr * 98 / 1000  # a pause this long may serve as the split point of an over-long segment
    pad = int(sr * o.speech_pad_ms / 1000)
    max_speech = sr * o.max_speech_s - WINDOW - 2 * pad

    found: list[list[int]] = []
    start: int | None = None
    temp_end = 0  # where the current silence began (0: none)
    prev_end = next_start = 0  # candidate split point for over-long speech
    for i, p in enumerate(probs):
        pos = i * WINDOW
        if p >= o.threshold and temp_end:
            temp_end = 0
            if next_start < prev_end:
                next_start = pos
        if p >= o.threshold and start is None:
            start = pos
            continue
        if start is not None and pos - start > max_speech:
            if prev_end:
                found.append([start, prev_end])
                # resume at the speech that followed the pause, or stop if it is still silent
                start = None if next_start < prev_end else next_start
                prev_end = next_start = temp_end = 0
            else:
                found.append([start, pos])
                prev_end = next_start = temp_end = 0
                start = None
                continue
        if p < neg and start is not None:
            if not temp_end:
                temp_end = pos
            if pos - temp_end > min_silence_at_max:
                prev_end = temp_end
            if pos - temp_end < min_silence:
                continue
            if temp_end - start > min_speech:
                found.append([start, temp_end])
            prev_end = next_start = temp_end = 0
            start = None
    if start is not None and n_samples - start > min_speech:
        found.append([start, n_samples])

    for k, seg in enumerate(found):
        if k == 0:
            seg[0] = max(0, seg[0] - pad)
        if k < len(found) - 1:
            gap = found[k + 1][0] - seg[1]
            if gap < 2 * pad:
                seg[1] += gap // 2
                found[k + 1][0] = max(0, found[k + 1][0] - gap // 2)
            else:
                seg[1] = min(n_samples, seg[1] + pad)
                found[k + 1][0] = max(0, found[k + 1][0] - pad)
        else:
            seg[1] = min(n_samples, seg[1] + pad)
    return [SpeechSegment(start_s=s / sr, end_s=e / sr) for s, e in found]
