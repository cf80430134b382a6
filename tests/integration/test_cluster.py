"""The cluster under faults: PostgreSQL + Redis + moto S3, an API with executor=celery and two worker processes,
driven through the official PAI SDK."""

from __future__ import annotations

import json
import time

import httpx
from ai_service_python_sdk.client.api.ai_service_image_api import AiServiceImageApi
from ai_service_python_sdk.client.api.ai_service_job_api import AiServiceJobApi
from ai_service_python_sdk.client.api.ai_service_video_api import AiServiceVideoApi
from ai_service_python_sdk.client.models.batch_video_request_videos import BatchVideoRequestVideos
from ai_service_python_sdk.client.rest import ApiException

from medialens.store import jobs as job_store
from medialens.store.db import Database
from tests.conftest import skip_unless_ci
from tests.e2e.test_pai_quality import poll_job
from tests.integration.cluster import RedisServer
from tests.integration.conftest import pai_client


def submit_batch(client, urls: list[str]) -> int:
    response = AiServiceVideoApi(client).batch_video_qa([BatchVideoRequestVideos(u, "") for u in urls], "", {})
    assert response.code == "OK", response
    return response.data["batch_id"]


def wait_batches(client, batch_ids: list[int], timeout: float) -> list[dict]:
    api = AiServiceJobApi(client)
    deadline = time.monotonic() + timeout
    pending = list(batch_ids)
    done: list[dict] = []
    while pending and time.monotonic() < deadline:
        jobs = api.get_batch_job_with_id(pending[0]).data["jobs"]
        if all(j["state"] in (2, 3) for j in jobs):
            done.extend(jobs)
            pending.pop(0)
        else:
            time.sleep(0.3)
    assert not pending, f"batches {pending} did not finish in {timeout}s"
    return done


def assert_all_succeeded(jobs: list[dict]) -> None:
    bad = [(j["id"], j["state"], j["message"]) for j in jobs if j["state"] != 2 or j["message"] != "success"]
    assert not bad, bad
    for j in jobs:
        assert set(json.loads(j["Result"])) >= {"video_score", "width", "height"}


def kill_a_worker_mid_job(cluster, client, db: Database, media_url: str) -> None:
    """Start a slow job, kill -9 the worker running it, and check the other worker completes it."""
    a, b = cluster.workers[-2:]
    # The download trickles over 4 s, so the job is surely running when its worker dies.
    job_id = AiServiceVideoApi(client).video_qa(f"{media_url}/slow/4/clip.mp4", "", "", {}).data["job_id"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        job = job_store.get_job(db, job_id)
        if job.state == 1 and job.worker:
            break
        time.sleep(0.05)
    else:
        raise AssertionError("job never started")
    victim = int(job.worker.split(":")[1])
    assert victim in (a.pid, b.pid)
    survivor = b.pid if victim == a.pid else a.pid
    cluster.kill_pid(victim)  # kill -9 mid-download
    done = poll_job(client, job_id, timeout=60)
    assert done["state"] == 2 and done["message"] == "success", done
    final = job_store.get_job(db, job_id)
    assert final.attempts == 2 and int(final.worker.split(":")[1]) == survivor


def test_worker_killed_mid_job_completes_on_the_other(cluster_factory, pg_url, redis_url, media_url) -> None:
    cluster = cluster_factory(pg_url, redis_url)
    cluster.api.start()
    for _ in range(2):
        cluster.start_worker()
    cluster.wait_workers_ready()
    client = pai_client(cluster)
    db = Database(pg_url)
    try:
        kill_a_worker_mid_job(cluster, client, db, media_url)
    finally:
        db.dispose()


def test_api_restart_during_a_batch_loses_nothing(cluster_factory, pg_url, redis_url, media_url) -> None:
    cluster = cluster_factory(pg_url, redis_url)
    cluster.api.start()
    cluster.start_worker()
    cluster.start_worker()
    cluster.wait_workers_ready()
    client = pai_client(cluster)
    urls = [f"{media_url}/clip.mp4?n={i}" for i in range(8)] + [f"{media_url}/slow/2/clip.mp4?n={i}" for i in range(4)]
    first = submit_batch(client, urls)
    cluster.api.kill()  # kill -9 the API while the batch runs
    cluster.api.start()
    second = submit_batch(client, urls[:8])
    jobs = wait_batches(client, [first, second], timeout=120)
    assert len(jobs) == 20
    assert_all_succeeded(jobs)


def test_redis_restart_jobs_resume(cluster_factory, pg_url, media_url, tmp_path) -> None:
    import shutil

    if shutil.which("redis-server") is None:
        skip_unless_ci("redis-server is not installed; this test restarts its own Redis")
    redis = RedisServer(tmp_path / "redis")
    redis.start()
    try:
        cluster = cluster_factory(pg_url, redis.url, sync_timeout_s="5")
        cluster.api.start()
        cluster.start_worker()
        cluster.start_worker()
        cluster.wait_workers_ready()
        client = pai_client(cluster)
        urls = [f"{media_url}/slow/1/clip.mp4?n={i}" for i in range(12)]
        before = submit_batch(client, urls)  # 12 one-second jobs on 4 threads: most still queued below
        assert httpx.get(f"{cluster.api.base_url}/readyz").json()["checks"]["broker"] == "ok"
        time.sleep(1.5)
        redis.kill()  # every queued message is gone: no persistence
        during = submit_batch(client, urls[:4])  # accepted: jobs are in PostgreSQL; the publish fails quietly
        ready = httpx.get(f"{cluster.api.base_url}/readyz", timeout=30)
        assert ready.status_code == 503 and ready.json()["reasons"] == ["message broker is not reachable"]
        redis.start()
        deadline = time.monotonic() + 30
        while httpx.get(f"{cluster.api.base_url}/readyz", timeout=30).status_code != 200:
            assert time.monotonic() < deadline, "the API did not see the broker come back"
            time.sleep(0.2)
        # a synchronous image request goes through the new Redis too, once a worker consumes again
        deadline = time.monotonic() + 30
        while True:
            try:
                image = AiServiceImageApi(client).image_qa(f"{media_url}/shared/image/skimage_cat_chelsea.png", "", {})
                break
            except ApiException:
                assert time.monotonic() < deadline, "no synchronous answer after the broker came back"
        assert 0 <= image.data["iqa_result"] <= 100
        after = submit_batch(client, urls[:4])
        jobs = wait_batches(client, [before, during, after], timeout=150)
        assert len(jobs) == 20
        assert_all_succeeded(jobs)
    finally:
        redis.kill()


def test_many_queued_video_jobs_all_complete(cluster_factory, pg_url, redis_url, media_url) -> None:
    count = 200
    cluster = cluster_factory(pg_url, redis_url)
    cluster.api.start()
    cluster.start_worker()
    cluster.start_worker()
    cluster.wait_workers_ready()
    client = pai_client(cluster)
    started = time.monotonic()
    batches = [submit_batch(client, [f"{media_url}/clip.mp4?n={i}-{k}" for k in range(20)]) for i in range(count // 20)]
    jobs = wait_batches(client, batches, timeout=180)
    took = time.monotonic() - started
    print(f"\n{count} queued video jobs completed in {took:.1f}s ({count / took:.1f} jobs/s, 2 workers)")
    assert len(jobs) == count and len({j["id"] for j in jobs}) == count
    assert_all_succeeded(jobs)
