"""Audio is decoded by media/audio.py and the pipelines take the decoded samples: the hand-off between the two."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from medialens.config import Settings
from medialens.media.audio import read_audio
from medialens.models import loader
from medialens.models.pipelines.vad import SAMPLE_RATE as VAD_RATE
from medialens.models.pipelines.vad import SileroVadPipeline, VadOptions
from medialens.models.pipelines.whisper import SAMPLE_RATE as WHISPER_RATE
from medialens.models.pipelines.whisper import TranscriptionRequest
from tests.support import ensure_models

SOURCE_RATE = 44100


@pytest.fixture(scope="module")
def audio_settings() -> Settings:
    return Settings(model_dir=ensure_models("silero-vad", "whisper-base"), model_threads=1)


def _stereo_wav(path: Path, seconds: float) -> Path:
    """A 44.1 kHz stereo 16-bit WAV: a 440 Hz tone on the left, the same tone at half level on the right."""
    t = np.arange(round(seconds * SOURCE_RATE)) / SOURCE_RATE
    left = 0.5 * np.sin(2 * np.pi * 440 * t)
    frames = np.stack([left, left / 2], axis=1)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(SOURCE_RATE)
        w.writeframes((frames * 32767).astype("<i2").tobytes())
    return path


def test_read_audio_gives_what_the_pipelines_take(tmp_path: Path) -> None:
    assert VAD_RATE == WHISPER_RATE == 16000
    audio = read_audio(_stereo_wav(tmp_path / "tone.wav", 2.0), sample_rate=VAD_RATE)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert abs(len(audio) - 2 * VAD_RATE) <= 32  # resampled to 16 kHz (the resampler's edge may differ a little)
    # Channels averaged, not summed at -3 dB: the peak is the mean of 0.5 and 0.25.
    assert float(np.abs(audio[1000:-1000]).max()) == pytest.approx(0.375, abs=0.01)


def test_vad_takes_the_decoded_samples(tmp_path: Path, audio_settings: Settings) -> None:
    audio = read_audio(_stereo_wav(tmp_path / "tone.wav", 2.0))
    vad = loader.get_pipeline("silero-vad", audio_settings)
    np.testing.assert_array_equal(vad.preprocess(audio), audio)
    result = vad(audio)
    assert result.duration_s == pytest.approx(len(audio) / VAD_RATE)
    assert 0.0 <= result.speech_ratio <= 1.0
    with pytest.raises(TypeError, match="read_audio"):
        vad.preprocess(tmp_path / "tone.wav")


def test_vad_max_seconds_trims_the_samples(audio_settings: Settings) -> None:
    model_dir = audio_settings.resolved_model_dir / "silero-vad"
    vad = SileroVadPipeline(model_dir, audio_settings, VadOptions(max_seconds=0.5))
    try:
        assert len(vad.preprocess(np.zeros(VAD_RATE * 3, np.float32))) == VAD_RATE // 2
        stereo = np.zeros((2, VAD_RATE), np.float32)
        stereo[0] = 0.5
        assert vad.preprocess(stereo)[:3].tolist() == [0.25, 0.25, 0.25]  # channels averaged
    finally:
        vad.close()


def test_whisper_takes_the_decoded_samples(tmp_path: Path, audio_settings: Settings) -> None:
    audio = read_audio(_stereo_wav(tmp_path / "tone.wav", 3.0))
    whisper = loader.get_pipeline("whisper-base", audio_settings)
    pre = whisper.preprocess(TranscriptionRequest(audio, max_seconds=1.0))
    assert pre.audio.dtype == np.float32 and len(pre.audio) == WHISPER_RATE
    np.testing.assert_array_equal(pre.audio, audio[:WHISPER_RATE])
    assert len(whisper.preprocess(audio).audio) == len(audio)
    with pytest.raises(TypeError, match="read_audio"):
        whisper.preprocess(str(tmp_path / "tone.wav"))
