"""Speaker sex per speech segment: inaSpeechSegmenter's CNNs (Doukhan et al., ICASSP 2017 and 2018).

Weights: ``keras_male_female_cnn.hdf5`` and ``keras_speech_music_cnn.hdf5`` from PyPI
``inaSpeechSegmenter==0.6.8`` (MIT), converted to ONNX at pull time (``convert/keras_h5``). Both score one
68-frame log-mel patch per 20 ms (``ina_features``): the speech/music CNN on the lowest 21 bands, outputs
(speech, music); the gender CNN on all 24, outputs (female, male). inaSpeechSegmenter runs gender only where its
speech/music model found speech and smooths the per-patch scores with a Viterbi pass; here each given segment
(from the caller's VAD) gets one call: the mean speech and male probabilities over its patches, taking every
other patch (one per 40 ms; each spans 680 ms, so no audio is skipped) and only patches inside the segments
(the CNNs cost ~0.15 GFLOP a patch). Patches whose centre frame is quieter than SILENT_DBFS are left out
(inaSpeechSegmenter gates on energy too, relative to the file's mean; here absolute), and so are those of digital
silence, whose features are not finite. A request may skip the gender CNN (``sex=False``: speech/music only).
The models were trained on French broadcast speech (adult speakers), not on Mandarin.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from medialens.config import Settings
from medialens.models.pipeline import Pipeline
from medialens.models.pipelines import ina_features, register_pipeline
from medialens.models.runtime import onnx_session

GENDER_ONNX = "gender_cnn.onnx"
SPEECH_MUSIC_ONNX = "speech_music_cnn.onnx"
SPEECH_MUSIC_NOISE_ONNX = "speech_music_noise_cnn.onnx"
LABELS = ("female", "male")
SILENT_DBFS = -60.0
"""Patches centred on a 25-ms frame quieter than this (RMS, dB full scale) are not scored."""


@dataclass(frozen=True)
class SexRequest:
    samples: np.ndarray
    """float32 mono at 16 kHz."""
    segments: Sequence[tuple[float, float]]
    """[start, end) in seconds: the speech to call, one answer each."""
    sex: bool = True
    """Run the male/female CNN too (False: the speech/music CNN only, ``sex`` None in the answers)."""


@dataclass(frozen=True)
class SegmentSex:
    start: float
    end: float
    sex: str | None
    """"male" / "female"; None when the segment had no usable patch or the request skipped the gender CNN."""
    male_probability: float
    speech_probability: float
    """The speech/music CNN's mean speech probability (music: near 0)."""
    patches: int

    @property
    def speech(self) -> bool:
        return self.sex is not None and self.speech_probability >= 0.5


@dataclass
class _Pre:
    mspec: np.ndarray
    """[frames, 24] log mel; patches are cut per chunk in ``forward`` (bounded memory on long files)."""
    rows: np.ndarray
    """The patch indices to score: every PATCH_STRIDE-th inside the segments, centred on a sounding frame."""
    sex: bool


PATCH_STRIDE = 2


def segment_rows(segments: Sequence[tuple[float, float]], n_patches: int) -> np.ndarray:
    """Patch indices [lo, hi) of each segment (at least one), every PATCH_STRIDE-th, merged and sorted."""
    spans = [_patch_span(start, end, n_patches) for start, end in segments]
    rows = [np.arange(lo, hi, PATCH_STRIDE) for lo, hi in spans if hi > lo]
    return np.unique(np.concatenate(rows)) if rows else np.zeros(0, np.int64)


def _patch_span(start: float, end: float, n_patches: int) -> tuple[int, int]:
    lo = min(max(0, int(start / ina_features.PATCH_S)), n_patches)
    return lo, min(n_patches, max(lo + 1, round(end / ina_features.PATCH_S)))


@register_pipeline
class InaGenderPipeline(Pipeline[SexRequest, _Pre, list[SegmentSex]]):
    """(samples, speech segments) -> one ``SegmentSex`` per segment, in order."""

    model_name = "ina-speech-segmenter"
    max_batch_size = 1
    chunk = 256
    """Patches per ONNX call (bounds memory on long files)."""

    def __init__(self, model_dir: Path, settings: Settings) -> None:
        super().__init__(model_dir, settings)
        self._gender = onnx_session(model_dir / GENDER_ONNX, settings)
        self._speech = onnx_session(model_dir / SPEECH_MUSIC_ONNX, settings)
        self._speech_mels = self._speech.get_inputs()[0].shape[2]
        self._lock = threading.Lock()

    def preprocess(self, item: SexRequest) -> _Pre:
        mspec = ina_features.log_mel(item.samples)
        rows = segment_rows(item.segments, ina_features.patch_count(len(mspec)))
        level = ina_features.frame_db(item.samples)
        centre = np.minimum(rows * ina_features.STEP, len(level) - 1)
        return _Pre(mspec, rows[level[centre] > SILENT_DBFS], item.sex)

    def forward(self, batch: Sequence[_Pre]) -> list[np.ndarray]:
        """Per patch [female, male, speech, music]; NaN rows where the patch is not finite."""
        out = []
        for pre in batch:
            probs = np.full((ina_features.patch_count(len(pre.mspec)), 4), np.nan, np.float32)
            for start in range(0, len(pre.rows), self.chunk):
                rows = pre.rows[start : start + self.chunk]
                speech_in, keep = ina_features.patches(pre.mspec, self._speech_mels, rows)
                if pre.sex:
                    gender_in, ok = ina_features.patches(pre.mspec, ina_features.N_MELS, rows)
                    keep &= ok
                if not keep.any():
                    continue
                with self._lock:
                    probs[rows[keep], 2:] = self._speech.run(None, {"input": speech_in[keep]})[0]
                    if pre.sex:
                        probs[rows[keep], :2] = self._gender.run(None, {"input": gender_in[keep]})[0]
            out.append(probs)
        return out

    def postprocess(self, raw: np.ndarray, item: SexRequest, pre: _Pre) -> list[SegmentSex]:
        calls = []
        for start, end in item.segments:
            lo, hi = _patch_span(start, end, len(raw))
            rows = raw[lo:hi]
            rows = rows[np.isfinite(rows[:, 2])]
            if len(rows) == 0:
                calls.append(SegmentSex(start, end, None, float("nan"), float("nan"), 0))
                continue
            male, speech = float(rows[:, 1].mean()), float(rows[:, 2].mean())
            sex = LABELS[int(male >= 0.5)] if pre.sex else None
            calls.append(SegmentSex(start, end, sex, male, speech, len(rows)))
        return calls

    def close(self) -> None:
        self._gender = self._speech = None
