"""ImageQA, VideoQA and batch VideoQA through the official ai-service-python-sdk 1.1.5, as the seed's examples."""

from __future__ import annotations

import json
import re
import time

from ai_service_python_sdk.client.api.ai_service_image_api import AiServiceImageApi
from ai_service_python_sdk.client.api.ai_service_job_api import AiServiceJobApi
from ai_service_python_sdk.client.api.ai_service_video_api import AiServiceVideoApi
from ai_service_python_sdk.client.models.batch_video_request_videos import BatchVideoRequestVideos

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$")


def poll_job(client, job_id: int, timeout: float = 120) -> dict:
    api = AiServiceJobApi(client)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = api.get_async_job(job_id).data["job"]
        if job["state"] in (2, 3):
            return job
        assert job["state"] in (0, 1)
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish: {job}")


def poll_batch(client, batch_id: int, timeout: float = 180) -> list[dict]:
    api = AiServiceJobApi(client)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = api.get_batch_job_with_id(batch_id).data["jobs"]
        if all(j["state"] in (2, 3) for j in jobs):
            return jobs
        time.sleep(0.2)
    raise AssertionError(f"batch {batch_id} did not finish: {jobs}")


def image_qa(pai, url: str) -> dict:
    response = AiServiceImageApi(pai).image_qa(url, "", {})
    assert response.code == "OK" and response.message == "success"
    return response.data


def test_image_qa_answers_as_the_seed(pai, media_url) -> None:
    response = AiServiceImageApi(pai).image_qa(f"{media_url}/shared/image/skimage_cat_chelsea.png", "", {})
    assert response.code == "OK" and response.message == "success" and len(response.request_id) == 36
    assert set(response.data) == {"image_height", "image_width", "iqa_result"}
    assert (response.data["image_width"], response.data["image_height"]) == (451, 300)
    assert 0 <= response.data["iqa_result"] <= 100
    assert round(response.data["iqa_result"], 2) == response.data["iqa_result"]


def test_image_qa_ranks_clean_above_degraded_copies(pai, media_url) -> None:
    for stem in ("skimage_cat_chelsea", "face_alex_lacamoire_a", "face_kit_harington_c"):
        scores = {
            v: image_qa(pai, f"{media_url}/gen/{stem}_{v}.png")["iqa_result"]
            for v in ("clean", "blur", "noise", "jpeg")
        }
        for degraded in ("blur", "noise", "jpeg"):
            assert scores["clean"] > scores[degraded] + 5, (stem, scores)


def test_video_qa_polled_until_done(pai, credentials, media_url) -> None:
    response = AiServiceVideoApi(pai).video_qa(f"{media_url}/shared/video/basketball_gym.mp4", "", "", {})
    assert response.code == "OK"
    job_id = response.data["job_id"]
    assert isinstance(job_id, int)
    job = poll_job(pai, job_id)
    assert job["state"] == 2 and job["message"] == "success" and job["id"] == job_id
    assert ISO_MS.match(job["create_time"]) and job["app_id"] == credentials[0]
    result = json.loads(job["Result"])
    assert set(result) == {"video_score", "avg_fps", "duration", "single_img", "height", "width"}
    assert (result["width"], result["height"], result["avg_fps"]) == (426, 240, 30)
    assert abs(result["duration"] - 10.01) < 0.2
    assert 0 <= result["video_score"] <= 100 and 0 <= result["single_img"] <= 1


def test_batch_video_qa_polled_with_batch_id(pai, media_url) -> None:
    urls = [f"{media_url}/shared/video/{n}" for n in ("two_men_hugging.mp4", "asl_bird.mkv", "eye_makeup.avi")]
    videos = [
        BatchVideoRequestVideos(urls[0], ""),
        BatchVideoRequestVideos(urls[1], "bird"),
        BatchVideoRequestVideos(urls[2], None),
    ]
    response = AiServiceVideoApi(pai).batch_video_qa(videos, "", {})
    assert response.code == "OK"
    batch_id = response.data["batch_id"]
    jobs = poll_batch(pai, batch_id)
    assert [j["object"] for j in jobs] == urls
    assert all(j["batch_id"] == batch_id and j["state"] == 2 and j["message"] == "success" for j in jobs)
    assert [json.loads(j["Result"])["width"] for j in jobs] == [1920, 640, 320]
    assert len({j["id"] for j in jobs}) == 3


def test_video_scores_rank_clean_above_degraded_and_still_video_is_static(pai, media_url) -> None:
    names = [
        "shared/video/basketball_gym.mp4",
        "gen/basketball_blur.mp4",
        "gen/basketball_noise.mp4",
        "gen/slideshow.mp4",
    ]
    videos = [BatchVideoRequestVideos(f"{media_url}/{n}", "") for n in names]
    batch_id = AiServiceVideoApi(pai).batch_video_qa(videos, "", {}).data["batch_id"]
    results = [json.loads(j["Result"]) for j in poll_batch(pai, batch_id)]
    clean, blur, noise, still = results
    assert clean["video_score"] > blur["video_score"] + 5, results
    assert clean["video_score"] > noise["video_score"] + 5, results
    assert still["single_img"] > 0.9, still
    assert clean["single_img"] < still["single_img"] - 0.1, results
