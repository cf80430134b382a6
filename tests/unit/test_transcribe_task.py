"""The ``transcribe`` task (Whisper base) through the native API: an audio upload becomes a job whose result is
the text with segment times; audio without speech gives no text; bad input fails clearly."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from medialens.app import create_app
from medialens.config import Settings
from medialens.store.apps import create_app as create_credentials
from tests import support
from tests.conftest import MEDIA

SPEECH = MEDIA / "audio" / "jfk_ask_not.flac"
BIRD = MEDIA / "audio" / "nature_robin_bird_call.ogg"
IMAGE = MEDIA / "image" / "skimage_cat_chelsea.png"
TRUTH = "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, str]]]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("transcribe"),
        model_dir=support.ensure_models("whisper-base"),
        job_poll_interval_s=0.05,
    )
    app = create_app(settings, run_workers=True)
    with TestClient(app, raise_server_exceptions=False) as client:
        cred = create_credentials(app.state.core.db, "t")
        yield client, {"Authorization": f"Bearer {cred.app_id}:{cred.token}"}


def _run(client: TestClient, headers: dict[str, str], path, options: str = "{}") -> dict:
    with path.open("rb") as f:
        r = client.post(
            "/v1/jobs", headers=headers, data={"task": "transcribe", "options": options}, files={"file": (path.name, f)}
        )
    assert r.status_code == 202, r.text
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{r.json()['id']}", headers=headers).json()
        if job["state"] in (2, 3):
            return job
        time.sleep(0.1)
    raise AssertionError("the transcription did not finish")


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


def _wer(truth: str, said: str) -> float:
    """Word error rate: word-level edit distance over the reference length."""
    ref, hyp = _words(truth), _words(said)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1] / len(ref)


def test_listed_as_an_audio_task(api) -> None:
    client, headers = api
    task = client.get("/v1/tasks/transcribe", headers=headers).json()
    assert task["media_kind"] == "audio" and task["available"] is True
    assert set(task["options"]["properties"]) == {"language", "translate"}


def test_speech_becomes_text_with_times(api) -> None:
    client, headers = api
    job = _run(client, headers, SPEECH)
    assert job["state"] == 2, job
    result = job["result"]
    assert result["language"] == "en" and _wer(TRUTH, result["text"]) <= 0.1, result["text"]
    segments = result["segments"]
    assert segments and all(0 <= s["start"] < s["end"] <= result["duration_s"] + 0.01 for s in segments)
    assert " ".join(s["text"] for s in segments) == result["text"]
    assert 10.5 <= result["duration_s"] <= 11.5 and result["method"].startswith("whisper-base")


def test_no_speech_gives_no_text(api) -> None:
    client, headers = api
    job = _run(client, headers, BIRD)
    assert job["state"] == 2 and job["result"]["text"] == "" and job["result"]["segments"] == [], job


def test_bad_input(api) -> None:
    client, headers = api
    job = _run(client, headers, IMAGE)  # an image has no sound track
    assert job["state"] == 3 and "no audio stream" in job["message"], job
    with SPEECH.open("rb") as f:
        r = client.post(
            "/v1/jobs",
            headers=headers,
            data={"task": "transcribe", "options": '{"language": "English"}'},
            files={"file": f},
        )
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_options", r.text
    assert "language code" in r.json()["error"]["message"]
    r = client.post("/v1/analyze/transcribe", headers=headers, json={"url": "http://127.0.0.1:9/a.flac"})
    assert r.status_code == 400 and "POST /v1/jobs" in r.json()["error"]["message"], r.text  # jobs only
    job = _run(client, headers, BIRD, '{"language": "xx"}')  # well formed, but no language Whisper knows
    assert job["state"] == 3 and "unsupported language" in job["message"], job
