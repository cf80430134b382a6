"""Every PAI error of the seed, through the official client (and raw HTTP where the client cannot send it)."""

from __future__ import annotations

import json
import os
import shutil
import time

import httpx
import pytest
from ai_service_python_sdk.client.api.ai_service_image_api import AiServiceImageApi
from ai_service_python_sdk.client.api.ai_service_job_api import AiServiceJobApi
from ai_service_python_sdk.client.api.ai_service_video_api import AiServiceVideoApi
from ai_service_python_sdk.client.api_client import ApiClient
from ai_service_python_sdk.client.rest import ApiException

from medialens.protocols.pai.auth import authorization_header
from tests.e2e.test_pai_quality import poll_job
from tests.support import live_server


def _error(exc: pytest.ExceptionInfo) -> tuple[int, dict]:
    body = json.loads(exc.value.body)
    assert set(body) == {"request_id", "code", "message", "data"}
    return exc.value.status, body


def test_wrong_token_is_a_sign_error(server, credentials, media_url) -> None:
    client = ApiClient(server.base_url, credentials[0], "not-the-token")
    with pytest.raises(ApiException) as exc:
        AiServiceImageApi(client).image_qa(f"{media_url}/shared/image/skimage_cat_chelsea.png", "", {})
    status, body = _error(exc)
    assert (status, body["code"], body["message"]) == (401, "PARAMETER_ERROR", "sign error")
    with pytest.raises(ApiException) as exc:
        AiServiceJobApi(client).get_async_job(1)
    assert _error(exc)[0] == 401


def test_unknown_app_id(server, media_url) -> None:
    client = ApiClient(server.base_url, "0000000000000000000", "whatever")
    with pytest.raises(ApiException) as exc:
        AiServiceImageApi(client).image_qa(f"{media_url}/shared/image/skimage_cat_chelsea.png", "", {})
    assert _error(exc)[0] == 400 and _error(exc)[1]["message"] == "note found appid"
    with pytest.raises(ApiException) as exc:
        AiServiceVideoApi(client).video_qa(f"{media_url}/shared/video/asl_no.mkv", "", "", {})
    assert _error(exc)[1]["message"] == "not found appid"


@pytest.mark.parametrize(
    "call",
    [
        lambda pai, url: AiServiceImageApi(pai).image_qa(url, "no-such-model", {}),
        lambda pai, url: AiServiceImageApi(pai).face_attr_image(url, "no-such-face-model", {}),
        lambda pai, url: AiServiceImageApi(pai).ocr_image(url, "", {}),
        lambda pai, url: AiServiceVideoApi(pai).classify_label_video(url, "", "custom-model", {}),
        lambda pai, url: AiServiceVideoApi(pai).video_qa(url, "", "custom-model", {}),
    ],
    ids=["image-model", "face-model", "ocr", "classify-video-model", "video-model"],
)
def test_unknown_or_unbuilt_model_is_model_not_found(pai, media_url, call) -> None:
    with pytest.raises(ApiException) as exc:
        call(pai, f"{media_url}/shared/image/skimage_cat_chelsea.png")
    status, body = _error(exc)
    assert (status, body["code"], body["message"]) == (404, "PARAMETER_ERROR", "model not found")


def _signed_post(server, credentials, path: str, raw: bytes) -> httpx.Response:
    header = authorization_header(*credentials, "POST", path, raw)
    return httpx.post(
        f"{server.base_url}{path}",
        content=raw,
        headers={"Authorization": header, "Content-Type": "application/json"},
    )


def test_field_of_the_wrong_type_is_an_unmarshal_error(server, credentials) -> None:
    raw = b'{"action": "ImageQA", "image": 12345678901, "model_name": ""}'
    r = _signed_post(server, credentials, "/api/v1/images", raw)
    assert r.status_code == 400
    assert r.json()["message"] == (
        "Unmarshal type error: expected=string, got=number, field=image, offset=42, internal=json: cannot "
        "unmarshal number into Go struct field ImageRequest.image of type string"
    )
    r = _signed_post(server, credentials, "/api/v1/images", b'{"action": "ImageQA", "image": ""}')
    assert (r.status_code, r.json()["message"]) == (400, "image is empty")
    r = _signed_post(server, credentials, "/api/v1/videos", b"{not json")
    assert r.status_code == 400 and r.json()["message"].startswith("Syntax error: offset=1")
    r = _signed_post(server, credentials, "/api/v1/images", b"{" + b" " * 2_000_000 + b"}")
    assert r.status_code == 413 and r.json()["code"] == "PARAMETER_ERROR"


def test_unreachable_video_url_fails_the_job_with_the_seed_message(pai, media_url) -> None:
    job_id = AiServiceVideoApi(pai).video_qa(f"{media_url}/missing.mp4", "", "", {}).data["job_id"]
    job = poll_job(pai, job_id)
    assert job["state"] == 3 and job["Result"] == ""
    assert job["message"] == "failed to download video, err=fetch resource failed\tcode = 404"


def test_broken_video_and_image_get_clear_errors(pai, media_url) -> None:
    job_id = AiServiceVideoApi(pai).video_qa(f"{media_url}/shared/labels.json", "", "", {}).data["job_id"]
    job = poll_job(pai, job_id)
    assert job["state"] == 3 and job["message"] and "Traceback" not in job["message"]
    with pytest.raises(ApiException) as exc:
        AiServiceImageApi(pai).image_qa(f"{media_url}/shared/labels.json", "", {})
    status, body = _error(exc)
    assert status == 400 and "decoded" in body["message"]
    with pytest.raises(ApiException) as exc:
        AiServiceImageApi(pai).image_qa(f"{media_url}/shared/image/ocr_zh_line_crop.jpg", "", {})
    assert "below the minimum" in _error(exc)[1]["message"]


def test_unknown_job_and_batch(pai) -> None:
    with pytest.raises(ApiException) as exc:
        AiServiceJobApi(pai).get_async_job(987654321)
    assert _error(exc)[0] == 404
    with pytest.raises(ApiException) as exc:
        AiServiceJobApi(pai).get_batch_job_with_id(987654321)
    assert _error(exc)[0] == 404


def test_private_urls_are_refused_without_the_setting(tmp_path, media_url, models) -> None:
    srv = live_server(tmp_path / "strict")  # MEDIALENS_ALLOW_PRIVATE_URLS left at its default: false
    srv.start()
    try:
        app_id, token = srv.create_app("strict")
        client = ApiClient(srv.base_url, app_id, token)
        with pytest.raises(ApiException) as exc:
            AiServiceImageApi(client).image_qa(f"{media_url}/shared/image/skimage_cat_chelsea.png", "", {})
        status, body = _error(exc)
        assert status == 400 and "private" in body["message"]
        job_id = AiServiceVideoApi(client).video_qa(f"{media_url}/shared/video/asl_no.mkv", "", "", {}).data["job_id"]
        job = poll_job(client, job_id)
        assert job["state"] == 3 and "private" in job["message"]
    finally:
        srv.stop()


def test_jobs_survive_a_killed_server(tmp_path, media_url, models) -> None:
    from ai_service_python_sdk.client.models.batch_video_request_videos import BatchVideoRequestVideos

    from tests.e2e.test_pai_quality import poll_batch

    srv = live_server(tmp_path / "restart", allow_private_urls="true", workers="1")
    srv.start()
    try:
        client = ApiClient(srv.base_url, *srv.create_app("restart"))
        names = ["asl_walk.mkv", "asl_want.mkv", "asl_no.mkv"]  # one running when killed, two queued
        videos = [BatchVideoRequestVideos(f"{media_url}/shared/video/{n}", "") for n in names]
        batch_id = AiServiceVideoApi(client).batch_video_qa(videos, "", {}).data["batch_id"]
        time.sleep(0.5)  # let the worker start on the first one
        srv.kill()
        srv.start()
        jobs = poll_batch(client, batch_id)
        assert [j["state"] for j in jobs] == [2, 2, 2], jobs
    finally:
        srv.stop()


def test_a_failing_model_is_a_422_and_a_failed_job(tmp_path, media_url, models) -> None:
    """A damaged model file (same size, so it still looks installed) makes the analysis itself fail."""
    broken = tmp_path / "models"
    broken.mkdir()
    for entry in models.iterdir():  # links to the bundle, but a real copy of the model that gets damaged
        (broken / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
    (broken / "niqe").unlink()
    shutil.copytree(models / "niqe", broken / "niqe")
    mat = broken / "niqe" / "niqe_image_params.mat"
    mat.write_bytes(os.urandom(mat.stat().st_size))
    srv = live_server(tmp_path / "broken", allow_private_urls="true", model_dir=str(broken))
    srv.start()
    try:
        client = ApiClient(srv.base_url, *srv.create_app("broken"))
        with pytest.raises(ApiException) as exc:
            AiServiceImageApi(client).image_qa(f"{media_url}/shared/image/skimage_cat_chelsea.png", "", {})
        status, body = _error(exc)
        assert (status, body["code"]) == (422, "SERVER_ERROR") and body["message"].startswith("model service error")
        job_id = AiServiceVideoApi(client).video_qa(f"{media_url}/shared/video/asl_no.mkv", "", "", {}).data["job_id"]
        job = poll_job(client, job_id)
        assert job["state"] == 3 and job["message"].startswith("analysis failed")
        assert "Traceback" not in job["message"]
    finally:
        srv.stop()


def test_services_without_an_analysis_answer_model_not_found(pai) -> None:
    from ai_service_python_sdk.client.api.ai_service_text_api import AiServiceTextApi

    with pytest.raises(ApiException) as exc:
        AiServiceTextApi(pai).ner_text("hello", "", {})
    status, body = _error(exc)
    assert (status, body["message"]) == (404, "model not found")
    client = ApiClient(pai.host, "0000000000000000000", "whatever")
    with pytest.raises(ApiException) as exc:
        AiServiceTextApi(client).ner_text("hello", "", {})
    assert _error(exc)[0] == 400
