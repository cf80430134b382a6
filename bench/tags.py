"""MultiLabelImageV2, FaceAttrImage and ClassifyLabelVideo speed through the live API, measured in one run.

Prints images per second for tags (and faces, when that analysis is deployed) with 4 concurrent clients, and the
real-time factor of video classification on a 60 s 720p clip (target ≥ 10× faster than real time on 2 cores).
"""

from __future__ import annotations

import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ai_service_python_sdk.client.api.ai_service_image_api import AiServiceImageApi
from ai_service_python_sdk.client.api.ai_service_job_api import AiServiceJobApi
from ai_service_python_sdk.client.api.ai_service_video_api import AiServiceVideoApi
from ai_service_python_sdk.client.api_client import ApiClient
from ai_service_python_sdk.client.rest import ApiException
from tests.support import ensure_models

from quality import served_bench

IMAGES = ["skimage_cat_chelsea.png", "skimage_motorcycle.png", "face_rose_leslie_a.jpg", "face_kit_harington_c.jpg"]
FACES = ["face_rose_leslie_a.jpg", "face_kit_harington_c.jpg", "face_rose_leslie_kit_harington.jpg"]
REQUESTS = 40
CLIENTS = 4


def images_per_second(client: ApiClient, urls: list[str], call: str, model_name: str = "") -> float | None:
    api = AiServiceImageApi(client)
    fn = getattr(api, call)
    try:
        fn(urls[0], model_name, {})  # warm-up: model load
    except ApiException as err:
        if err.status == 404:
            return None
        raise
    todo = [urls[i % len(urls)] for i in range(REQUESTS)]
    start = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        for response in pool.map(lambda u: fn(u, model_name, {}), todo):
            assert response.code == "OK"
    return REQUESTS / (time.perf_counter() - start)


def video_rtf(client: ApiClient, url: str, duration_s: float) -> float:
    api = AiServiceVideoApi(client)
    jobs = AiServiceJobApi(client)
    start = time.perf_counter()
    job_id = api.classify_label_video(url, "", "", {}).data["job_id"]
    while (job := jobs.get_async_job(job_id).data["job"])["state"] not in (2, 3):
        time.sleep(0.05)
    assert job["state"] == 2, job
    return duration_s / (time.perf_counter() - start)


def main() -> None:
    ensure_models("mobilenet-v2", "nanodet", "e5-small-q4", "dlib-face", "age-gender")
    with served_bench() as (client, base, clip):
        client.rest_client.pool_manager.connection_pool_kw["maxsize"] = CLIENTS
        tags = images_per_second(client, [f"{base}/image/{n}" for n in IMAGES], "multi_label_image_v2")
        print(f"MultiLabelImageV2 (tags + 512-d embedding), {CLIENTS} clients: {tags:.1f} images/s")
        faces = images_per_second(client, [f"{base}/image/{n}" for n in FACES], "face_attr_image")
        print(
            "FaceAttrImage: not deployed in this build"
            if faces is None
            else f"FaceAttrImage, {CLIENTS} clients: {faces:.1f} images/s"
        )
        rtf = video_rtf(client, f"{base}/gen/{clip.name}", 60.0)
        print(f"ClassifyLabelVideo on a 60 s 1280x720 clip: {rtf:.1f}x faster than real time (target >= 10x)")


if __name__ == "__main__":
    main()
