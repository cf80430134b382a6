"""Queues per kind of work: synchronous image requests run on `image` workers, not in the API, and a video
backlog on the `video` workers never delays them."""

from __future__ import annotations

import json
import time

import pytest
from ai_service_python_sdk.client.api.ai_service_image_api import AiServiceImageApi
from ai_service_python_sdk.client.api.ai_service_video_api import AiServiceVideoApi
from ai_service_python_sdk.client.models.batch_video_request_videos import BatchVideoRequestVideos
from ai_service_python_sdk.client.rest import ApiException

from medialens.store import jobs as job_store
from medialens.store.db import Database
from tests.integration.conftest import pai_client

CAT = "shared/image/skimage_cat_chelsea.png"


def test_images_need_an_image_worker_and_pass_a_busy_video_backlog(
    cluster_factory, pg_url, redis_url, media_url
) -> None:
    cluster = cluster_factory(pg_url, redis_url, sync_timeout_s="3")
    cluster.api.start()
    client = pai_client(cluster)
    images = AiServiceImageApi(client)

    # The API itself runs no analysis: with no worker on the `image` queue the request times out, in PAI's format.
    cluster.start_worker(concurrency=1, queues="video")
    cluster.wait_workers_ready()
    started = time.monotonic()
    with pytest.raises(ApiException) as exc:
        images.image_qa(f"{media_url}/{CAT}", "", {})
    body = json.loads(exc.value.body)
    assert (exc.value.status, body["code"]) == (422, "SERVER_ERROR"), body
    assert body["message"] == "no worker answered within 3 s"
    assert 2.5 < time.monotonic() - started < 10

    # The single video worker gets a backlog of slow downloads (2 s each) ...
    urls = [f"{media_url}/slow/2/clip.mp4?n={i}" for i in range(4)]
    batch = AiServiceVideoApi(client).batch_video_qa([BatchVideoRequestVideos(u, "") for u in urls], "", {}).data
    cluster.start_worker(concurrency=1, queues="image")
    cluster.wait_workers_ready()
    images.image_qa(f"{media_url}/{CAT}", "", {})  # the image worker loads its model
    # ... while image requests are answered by the image worker, each well before one video could finish.
    for _ in range(3):
        t0 = time.monotonic()
        data = images.image_qa(f"{media_url}/{CAT}", "", {}).data
        assert 0 <= data["iqa_result"] <= 100
        assert time.monotonic() - t0 < 1.9
    db = Database(pg_url)
    try:
        states = [job.state for job in job_store.get_batch_jobs(db, batch["batch_id"], None)]
    finally:
        db.dispose()
    assert states.count(2) < len(urls), states  # the videos were still queued or running meanwhile

    # A worker's failure comes back as the same protocol error the API gives for it.
    with pytest.raises(ApiException) as exc:
        images.image_qa(f"{media_url}/missing.png", "", {})
    body = json.loads(exc.value.body)
    assert exc.value.status == 400 and body["message"].startswith("failed to download image"), body


def _metric(text: str, name: str, **labels: str) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def test_cluster_metrics_broker_queues_at_the_api_and_outcomes_at_the_workers(
    cluster_factory, pg_url, redis_url, media_url
) -> None:
    import httpx

    from tests.support import free_port

    cluster = cluster_factory(pg_url, redis_url)
    cluster.api.start()
    client = pai_client(cluster)
    videos = AiServiceVideoApi(client)
    ids = [videos.video_qa(f"{media_url}/clip.mp4?n={i}", "", "", {}).data["job_id"] for i in range(3)]
    api_metrics = httpx.get(f"{cluster.api.base_url}/metrics").text
    assert _metric(api_metrics, "medialens_broker_queue_messages", queue="video") == 3  # no worker yet
    assert _metric(api_metrics, "medialens_job_queue_depth", state="initializing") == 3

    port = free_port()
    cluster.api.env["MEDIALENS_WORKER_METRICS_PORT"] = str(port)
    cluster.start_worker(concurrency=1)
    cluster.wait_workers_ready()
    db = Database(pg_url)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and any(job_store.get_job(db, i).state != 2 for i in ids):
            time.sleep(0.2)
        assert [job_store.get_job(db, i).state for i in ids] == [2, 2, 2]
    finally:
        db.dispose()
    AiServiceImageApi(client).image_qa(f"{media_url}/{CAT}", "", {})

    worker_metrics = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    assert _metric(worker_metrics, "medialens_jobs_finished_total", task="video_quality", state="completed") == 3
    assert _metric(worker_metrics, "medialens_job_duration_seconds_count", task="video_quality") == 3
    assert _metric(worker_metrics, "medialens_sync_requests_answered_total", task="image_quality", outcome="ok") == 1
    assert _metric(worker_metrics, "medialens_model_load_seconds", model="niqe") > 0
    api_metrics = httpx.get(f"{cluster.api.base_url}/metrics").text
    assert _metric(api_metrics, "medialens_broker_queue_messages", queue="video") == 0
    assert _metric(api_metrics, "medialens_job_queue_depth", state="initializing") == 0


def test_a_worker_killed_mid_request_gives_the_protocols_error_and_the_next_worker_answers(
    cluster_factory, pg_url, redis_url, media_url
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    cluster = cluster_factory(pg_url, redis_url, sync_timeout_s="4")
    cluster.api.start()
    client = pai_client(cluster)
    images = AiServiceImageApi(client)
    victim = cluster.start_worker(concurrency=1, queues="image")
    cluster.wait_workers_ready()
    with ThreadPoolExecutor(1) as pool:
        # the image trickles in over 3 s, so the worker is surely inside the request when it dies
        pending = pool.submit(images.image_qa, f"{media_url}/slow/3/{CAT}", "", {})
        time.sleep(1.0)
        cluster.kill_pid(victim.pid)
        with pytest.raises(ApiException) as exc:
            pending.result(timeout=30)
    body = json.loads(exc.value.body)
    assert (exc.value.status, body["message"]) == (422, "no worker answered within 4 s"), body
    cluster.start_worker(concurrency=1, queues="image")
    cluster.wait_workers_ready()
    assert 0 <= images.image_qa(f"{media_url}/{CAT}", "", {}).data["iqa_result"] <= 100
