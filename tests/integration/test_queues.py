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
