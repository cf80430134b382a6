"""Model Hub audio services through the official ``eas-prediction`` clients on tests/media/audio (truth in
labels.json): Chinese ASR in simplified characters, Chinese speech detection, background music, speaker sex,
their input errors, and one ASR request through the queue (put -> get)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.conftest import LABELS, MEDIA, require_eas_client
from tests.e2e.eas_client import EasClient
from tests.e2e.eas_queue_client import QueueClients
from tests.support import LiveServer, ensure_models, live_server, media_server

require_eas_client()  # the client is not imported here: see eas_client.py

SERVICES = (
    "asr_zh",
    "asr_zh_ecommerce",
    "speech_detection_zh",
    "bgm_detection",
    "speech_vector_zh",
    "speech_vector_en",
    "speaker_classification_zh",
)
YES = '{"class":"是"}\n'
NO = '{"class":"否"}\n'
MALE, FEMALE = '{"class":"男"}\n', '{"class":"女"}\n'
TRADITIONAL = set("學費獲廠產規這們說頭門")


def _truth(name: str) -> dict:
    return LABELS[f"audio/{name}"]["truth"]


@pytest.fixture(scope="module")
def sounds() -> Iterator[str]:
    with media_server(MEDIA / "audio") as url:
        yield url


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    ensure_models("whisper-base", "silero-vad", "ina-speech-segmenter")
    srv = live_server(tmp_path_factory.mktemp("audio"), allow_private_urls="true")
    tokens = srv.deploy(*SERVICES)
    srv.start()
    yield srv, tokens
    srv.stop()


def _predict(eas: EasClient, hub, service: str, body: dict | str) -> tuple[int, dict]:
    return eas.predict(service, hub[1][service], body, timeout_ms=60_000)  # Whisper on 2 shared cores


def test_asr_zh_answers_simplified_text_keyed_by_segment_start(hub, eas, sounds) -> None:
    assert _truth("zh_speech_long.wav")["language"] == "zh"
    status, answer = _predict(eas, hub, "asr_zh", {"input": {"url": f"{sounds}/zh_speech_long.wav"}})
    assert status == 200, answer
    assert "request_id" not in answer and len(answer) >= 1 and all(k.isdigit() for k in answer), answer
    assert all(int(k) < 8_000_000 for k in answer)
    text = ";".join(answer.values())
    assert "富士康" in text and "印度" in text and "工厂" in text, text  # 工廠 before the conversion
    assert not TRADITIONAL & set(text), text
    assert not any(c in text for c in "，。 "), text  # sentences joined by ';' only


def test_play_duration_limits_the_audio_transcribed(hub, eas, sounds) -> None:
    body = {"input": {"url": f"{sounds}/zh_speech_long.wav", "play_duration": "3500000"}}
    status, answer = _predict(eas, hub, "asr_zh", body)
    assert status == 200 and answer and all(int(k) < 3_500_000 for k in answer), answer
    assert "下降" not in ";".join(answer.values())  # said after 3.9 s


def test_asr_zh_ecommerce_transcribes_mandarin(hub, eas, sounds) -> None:
    status, answer = _predict(eas, hub, "asr_zh_ecommerce", {"input": {"url": f"{sounds}/zh_speech_mid.wav"}})
    assert status == 200, answer
    text = "".join(answer.values())
    assert "大学生" in text and "免费" in text, text
    assert not TRADITIONAL & set(text), text


@pytest.mark.parametrize(
    ("name", "chinese"),
    [
        ("zh_speech_mid.wav", True),
        ("zh_speech_long.wav", True),
        ("jfk_ask_not.flac", False),
        ("nature_robin_bird_call.ogg", False),
        ("music_kevin_macleod_vibe_ace.ogg", False),
    ],
)
def test_speech_detection_zh_per_window(hub, eas, sounds, name: str, chinese: bool) -> None:
    truth = _truth(name)
    assert (truth.get("language") == "zh") is chinese
    status, answer = _predict(eas, hub, "speech_detection_zh", {"input": {"url": f"{sounds}/{name}"}})
    assert status == 200 and answer and set(answer.values()) == {YES if chinese else NO}, answer


@pytest.mark.parametrize(
    "name",
    [
        "music_kevin_macleod_vibe_ace.ogg",
        "music_solo_trumpet.ogg",
        "nature_robin_bird_call.ogg",
        "jfk_ask_not.flac",
        "librispeech_3436-172162-0000_male.ogg",
        "zh_speech_long.wav",
    ],
)
def test_bgm_detection_separates_music_from_speech_and_nature(hub, eas, sounds, name: str) -> None:
    music = _truth(name).get("contains_music", False)
    status, answer = _predict(eas, hub, "bgm_detection", {"input": {"url": f"{sounds}/{name}"}})
    assert status == 200 and answer, answer
    assert set(answer.values()) == {YES if music else NO}, (name, answer)
    if name.startswith("music_kevin"):  # 61 s: windows at 0, 20 and 40 s (the 1.5-s tail joins the last)
        assert list(answer) == ["0", "20000000", "40000000"]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"url": "x"}, "input is missing"),
        ({"input": {}}, "input.url is missing"),
        ({"input": {"url": "AUDIO", "play_duration": "soon"}}, "play_duration"),
        ({"input": {"url": "AUDIO", "play_duration": -5}}, "play_duration"),
        ("{not json", "not valid JSON"),
    ],
)
def test_input_errors_are_4xx_in_the_model_hub_shape(hub, eas, sounds, body, words: str) -> None:
    if isinstance(body, dict) and "input" in body and body["input"].get("url") == "AUDIO":
        body = {"input": {**body["input"], "url": f"{sounds}/zh_speech_mid.wav"}}
    for service in SERVICES:
        status, answer = _predict(eas, hub, service, body)
        assert status == 400 and answer["success"] is False and answer["error_code"] == 400, answer
        assert words in answer["error_msg"], answer


@pytest.mark.parametrize("service", ["bgm_detection", "speech_detection_zh"])
def test_a_video_with_a_silent_sound_track_has_neither_music_nor_speech(hub, eas, service: str) -> None:
    assert LABELS["video/intel_cars_parking_lot.mp4"]["truth"]["audio"]["silent"] is True
    with media_server(MEDIA / "video") as videos:
        body = {"input": {"url": f"{videos}/intel_cars_parking_lot.mp4", "play_duration": 21_500_000}}
        status, answer = _predict(eas, hub, service, body)
    assert status == 200 and answer == {"0": NO}, answer  # 21.5 s: the 1.5-s tail joins the window


def test_a_missing_file_or_a_video_without_sound_is_a_client_error(hub, eas, sounds) -> None:
    status, answer = _predict(eas, hub, "bgm_detection", {"input": {"url": f"{sounds}/missing.wav"}})
    assert 400 <= status < 500 and answer["success"] is False, answer
    with media_server(MEDIA / "video") as videos:  # basketball_gym.mp4 has no audio stream
        status, answer = _predict(eas, hub, "asr_zh", {"input": {"url": f"{videos}/basketball_gym.mp4"}})
    assert 400 <= status < 500 and answer["success"] is False and "audio" in answer["error_msg"], answer


def test_asr_through_the_queue(hub, sounds) -> None:
    srv, tokens = hub
    clients = QueueClients(srv.base_url)
    try:
        body = json.dumps({"input": {"url": f"{sounds}/zh_speech_mid.wav"}}).encode()
        _, request_id = clients.call("asr_zh", tokens["asr_zh"], "put", body)
        (frame,) = clients.call("asr_zh/sink", tokens["asr_zh"], "get", request_id=request_id, timeout="50s")
        answer = json.loads(frame[1])
        assert frame[2]["requestId"] == request_id and "大学生" in "".join(answer.values()), answer
    finally:
        clients.close()


def _vectors(eas: EasClient, hub, service: str, url: str) -> dict[str, list[float]]:
    status, answer = _predict(eas, hub, service, {"input": {"url": url}})
    assert status == 200 and answer, answer
    return {k: [float(x) for x in v.split(",")] for k, v in answer.items()}


def test_speech_vectors_are_whisper_encoder_states_nearer_within_a_language(hub, eas, sounds) -> None:
    import numpy as np

    def unit(name: str, service: str) -> np.ndarray:
        (vector,) = _vectors(eas, hub, service, f"{sounds}/{name}").values()
        assert len(vector) == 512 and all(np.isfinite(vector))
        v = np.asarray(vector)
        return v / np.linalg.norm(v)

    zh_mid, zh_long = unit("zh_speech_mid.wav", "speech_vector_zh"), unit("zh_speech_long.wav", "speech_vector_zh")
    jfk, libri = (
        unit("jfk_ask_not.flac", "speech_vector_en"),
        unit("librispeech_3436-172162-0000_male.ogg", "speech_vector_en"),
    )
    assert zh_mid @ zh_long > zh_mid @ jfk and jfk @ libri > jfk @ zh_mid  # measured 0.89 > 0.75, 0.87 > 0.75
    # one vector per 30-s window, keyed by its start
    assert list(_vectors(eas, hub, "speech_vector_en", f"{sounds}/music_kevin_macleod_vibe_ace.ogg")) == [
        "0",
        "30000000",
        "60000000",
    ]


SEXED = sorted(f.removeprefix("audio/") for f, e in LABELS.items() if "speaker_sex" in e["truth"])


@pytest.mark.parametrize("name", SEXED)
def test_speaker_classification_calls_the_labelled_speakers(hub, eas, sounds, name: str) -> None:
    want = {"male": MALE, "female": FEMALE}[_truth(name)["speaker_sex"]]
    status, answer = _predict(eas, hub, "speaker_classification_zh", {"input": {"url": f"{sounds}/{name}"}})
    assert status == 200 and answer and "request_id" not in answer, answer
    assert all(k.isdigit() for k in answer) and int(min(answer, key=int)) < 1_000_000, answer  # speech starts early
    assert set(answer.values()) == {want}, (name, answer)


@pytest.mark.parametrize("name", ["music_kevin_macleod_vibe_ace.ogg", "nature_robin_bird_call.ogg"])
def test_speaker_classification_of_music_and_birdsong_has_no_speaker(hub, eas, sounds, name: str) -> None:
    assert not _truth(name)["contains_speech"]
    status, answer = _predict(eas, hub, "speaker_classification_zh", {"input": {"url": f"{sounds}/{name}"}})
    assert status == 200 and answer == {}, answer  # the jazz's VAD segments fail the speech/music gate


def test_speaker_classification_keeps_to_play_duration(hub, eas, sounds) -> None:
    body = {"input": {"url": f"{sounds}/jfk_ask_not.flac", "play_duration": "3000000"}}
    status, answer = _predict(eas, hub, "speaker_classification_zh", body)
    assert status == 200 and len(answer) == 1, answer  # the whole file has a second segment from 3.3 s
    ((key, call),) = answer.items()
    assert int(key) < 1_000_000 and call == MALE, answer


def test_speaker_classification_bad_media_is_a_client_error(hub, eas) -> None:
    with media_server(MEDIA) as root:
        for url, words in [(f"{root}/video/basketball_gym.mp4", "audio"), (f"{root}/labels.json", "decod")]:
            status, answer = _predict(eas, hub, "speaker_classification_zh", {"input": {"url": url}})
            assert 400 <= status < 500 and answer["success"] is False and answer["error_code"] == status, answer
            assert words in answer["error_msg"], answer


def test_speaker_classification_names_its_model(hub) -> None:
    srv, _ = hub
    (row,) = [s for s in json.loads(srv.cli("services", "list", "--json")) if s["model"] == "speaker_classification_zh"]
    assert "inaSpeechSegmenter" in row["description"] and row["deployed"] is True, row
