"""inaSpeechSegmenter's CNNs (ina-speech-segmenter) on the labelled test audio: the ONNX conversion against a NumPy
forward pass of the original Keras weights, speaker sex where labels.json records it, and the speech/music gate
that keeps the VAD's false positives on music from getting a speaker, and music per window (bgm_detection)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from medialens.analyses import hub_audio
from medialens.config import Settings
from medialens.media.audio import read_audio
from medialens.models.pipelines import ina_features, pipeline_class
from medialens.models.pipelines.ina_gender import GENDER_ONNX, SPEECH_MUSIC_ONNX, SexRequest
from medialens.models.pipelines.vad import VadOptions, speech_segments
from medialens.models.registry import get_spec
from medialens.models.transfer import FetchContext, new_client
from tests.conftest import LABELS, MEDIA
from tests.keras_reference import forward
from tests.support import ensure_models

MODEL = "ina-speech-segmenter"
SEXED = sorted(f for f, e in LABELS.items() if e["kind"] == "audio" and "speaker_sex" in e["truth"])
MUSICAL = sorted(f for f, e in LABELS.items() if e["kind"] == "audio" and "contains_music" in e["truth"])
SEGMENTS = VadOptions(min_silence_ms=1000, max_speech_s=20.0)  # as the speaker_classification_zh task


@pytest.fixture(scope="module")
def model_dir() -> Path:
    return ensure_models(MODEL, "silero-vad")


@pytest.fixture(scope="module")
def pipe(model_dir: Path):
    p = pipeline_class(MODEL)(model_dir / MODEL, Settings())
    yield p
    p.close()


@pytest.fixture(scope="module")
def vad(model_dir: Path):
    p = pipeline_class("silero-vad")(model_dir / "silero-vad", Settings())
    yield p
    p.close()


@pytest.fixture(scope="module")
def keras_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel's original HDF5 files (the install keeps only the ONNX): fetched again, needs PyPI."""
    stage = tmp_path_factory.mktemp("ina")
    with new_client() as client:
        get_spec(MODEL).sources[0].fetch(stage, FetchContext(Settings(), client))
    return stage


def _calls(pipe, vad, name: str):
    audio = read_audio(MEDIA / name)
    spans = speech_segments(vad.probabilities(audio), audio.size, SEGMENTS)
    return pipe(SexRequest(audio, [(s.start_s, s.end_s) for s in spans]))


@pytest.mark.parametrize(
    ("onnx_file", "keras_file", "bands"),
    [(GENDER_ONNX, "keras_male_female_cnn.hdf5", 24), (SPEECH_MUSIC_ONNX, "keras_speech_music_cnn.hdf5", 21)],
)
def test_the_onnx_models_compute_what_the_keras_weights_do(model_dir, keras_files, onnx_file, keras_file, bands):
    from medialens.models.convert import keras_h5

    audio = read_audio(MEDIA / "audio/jfk_ask_not.flac")
    patches, finite = ina_features.patches(ina_features.log_mel(audio), bands, rows=np.arange(100, 340, 4))
    assert finite.all()
    got = ort.InferenceSession(str(model_dir / MODEL / onnx_file)).run(None, {"input": patches})[0]
    want = forward(keras_h5.read_sequential(keras_files / keras_file), patches)
    np.testing.assert_allclose(got, want, atol=1e-4)
    assert np.ptp(want[:, 0]) > 0.1  # real speech patches that the network tells apart


def test_labelled_speakers_are_called_with_their_sex(pipe, vad) -> None:
    assert SEXED, "labels.json records no speaker_sex"
    for name in SEXED:
        calls = _calls(pipe, vad, name)
        truth = LABELS[name]["truth"]["speaker_sex"]
        assert calls and {c.sex for c in calls} == {truth}, (name, calls)
        assert all(c.speech for c in calls), (name, calls)


def test_the_librispeech_reader_is_called_male_with_a_clear_margin(pipe, vad) -> None:
    (call,) = _calls(pipe, vad, "audio/librispeech_3436-172162-0000_male.ogg")
    assert call.male_probability > 0.8 and call.patches > 350, call  # measured 0.92 over 414 patches (40 ms apart)


def test_music_the_vad_takes_for_speech_fails_the_speech_gate(pipe, vad) -> None:
    calls = _calls(pipe, vad, "audio/music_kevin_macleod_vibe_ace.ogg")
    assert calls, "silero no longer finds speech in this music: the gate is untested"
    assert all(c.speech_probability < 0.05 and not c.speech for c in calls), calls


def test_no_segments_no_calls_and_silence_no_sex(pipe) -> None:
    silence = np.zeros(ina_features.SAMPLE_RATE * 2, np.float32)
    assert pipe(SexRequest(silence, [])) == []
    (call,) = pipe(SexRequest(silence, [(0.0, 2.0)]))
    assert call.sex is None and call.patches == 0 and not call.speech


@pytest.mark.parametrize("name", MUSICAL)
def test_music_windows_score_near_one_and_the_rest_near_zero(pipe, name: str) -> None:
    audio = read_audio(MEDIA / name)
    windows = hub_audio.windows(audio.size / ina_features.SAMPLE_RATE)
    calls = pipe(SexRequest(audio, windows, sex=False))
    music = [1.0 - c.speech_probability for c in calls]
    assert all(c.sex is None and c.patches > 20 for c in calls), calls  # the gender CNN was not run
    if LABELS[name]["truth"]["contains_music"]:
        assert min(music) > 0.9, music  # measured 0.996-1.0
    else:
        assert max(music) < 0.3, music  # measured 0.0-0.11 (speech), 0.0 (the robin: "speech" to this model)
