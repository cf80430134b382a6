"""The cluster with RabbitMQ as the broker instead of Redis: jobs flow, a killed worker's job completes on the
other, and synchronous image requests are answered (by the API itself: replies need Redis)."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator

import pytest
from ai_service_python_sdk.client.api.ai_service_image_api import AiServiceImageApi

from medialens.store.db import Database
from tests.conftest import _port_open
from tests.integration.conftest import pai_client
from tests.integration.test_cluster import assert_all_succeeded, kill_a_worker_mid_job, submit_batch, wait_batches


@pytest.fixture
def amqp_url() -> Iterator[str]:
    """A virtual host of its own on the machine's RabbitMQ (127.0.0.1:5672, guest/guest), removed afterwards.

    RabbitMQ is not among the services CI promises (PostgreSQL and Redis are), so its absence skips."""
    if not _port_open("127.0.0.1", 5672) or shutil.which("rabbitmqctl") is None:
        pytest.skip("no RabbitMQ (with rabbitmqctl) on 127.0.0.1:5672")
    vhost = f"medialens-{uuid.uuid4().hex[:8]}"

    def ctl(*args: str) -> None:
        subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)

    ctl("add_vhost", vhost)
    try:
        ctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        yield f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    finally:
        ctl("delete_vhost", vhost)


def test_jobs_and_a_killed_worker_over_rabbitmq(cluster_factory, pg_url, amqp_url, media_url) -> None:
    cluster = cluster_factory(pg_url, amqp_url)
    cluster.api.start()
    for _ in range(2):
        cluster.start_worker()
    cluster.wait_workers_ready()
    client = pai_client(cluster)
    batch = submit_batch(client, [f"{media_url}/clip.mp4?n={i}" for i in range(10)])
    assert_all_succeeded(wait_batches(client, [batch], timeout=120))

    db = Database(pg_url)
    try:
        kill_a_worker_mid_job(cluster, client, db, media_url)  # RabbitMQ requeues the dead one's message
    finally:
        db.dispose()

    data = AiServiceImageApi(client).image_qa(f"{media_url}/shared/image/skimage_cat_chelsea.png", "", {}).data
    assert 0 <= data["iqa_result"] <= 100
