"""medialens.client (sync and async) against a live `medialens serve` on loopback: typed results, uploads, jobs
waited for with progress, pages, cancel, errors, and retries on connection errors."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from medialens.client import AsyncClient, Client, Job, JobFailed, JobTimeout, MedialensError
from medialens.tasks.results import ImageQuality, ImageTags, VideoQuality
from tests.conftest import MEDIA
from tests.support import LiveServer, media_server

CAT = MEDIA / "image" / "skimage_cat_chelsea.png"
VIDEO = MEDIA / "video" / "intel_bottles.mp4"


@pytest.fixture(scope="module")
def files_url() -> Iterator[str]:
    with media_server(MEDIA) as url:
        yield url


@pytest.fixture(scope="module")
def client(server: LiveServer, credentials: tuple[str, str]) -> Iterator[Client]:
    with Client(server.base_url, credentials) as c:
        yield c


def test_sync_typed_results_from_files_urls_and_bytes(client: Client, files_url: str) -> None:
    by_file = client.analyze("image_quality", CAT)
    assert isinstance(by_file, ImageQuality) and 0 <= by_file.score <= 100
    by_url = client.analyze("image_quality", f"{files_url}/image/skimage_cat_chelsea.png")
    assert by_url == by_file
    tags = client.analyze("image_tags", CAT.read_bytes(), {"tag_top_k": 3})
    assert isinstance(tags, ImageTags) and len(tags.tags) == 3


def test_sync_video_job_waits_with_progress(client: Client) -> None:
    seen: list[Job] = []
    job = client.wait(client.submit("video_quality", VIDEO), on_progress=seen.append)
    assert job.ok and isinstance(job.result, VideoQuality) and job.result.duration_s > 0
    assert seen[-1].state == 2 and [j.state for j in seen] == sorted(j.state for j in seen)
    assert isinstance(client.run("video_quality", VIDEO), VideoQuality)  # run: submit + wait for video tasks
    media_id = client.upload(VIDEO)
    assert client.wait(client.submit("video_quality", media=media_id)).result.width > 0
    batch_id, ids = client.submit_batch(
        [{"task": "video_quality", "media": media_id}, {"task": "image_quality", "media": client.upload(CAT)}]
    )
    assert [client.wait(i).task for i in ids] == ["video_quality", "image_quality"]
    assert [type(j.result) for j in client.batch(batch_id)] == [VideoQuality, ImageQuality]
    client.delete_media(media_id)
    slow = client.submit("video_quality", MEDIA / "video" / "intel_cars_parking_lot.mp4")
    with pytest.raises(JobTimeout):
        client.wait(slow, timeout=0.05)
    assert client.wait(slow, timeout=60).ok


def test_sync_pages_cancel_and_errors(client: Client, files_url: str) -> None:
    failing = [client.submit("video_quality", f"{files_url}/video/none-{i}.mp4") for i in range(3)]
    for job in failing:
        with pytest.raises(JobFailed) as failed:
            client.wait(job)
        assert "404" in failed.value.job.message
    listed = [j.id for j in client.jobs(state=3, page_size=1)]
    assert listed[:3] == sorted((j.id for j in failing), reverse=True)
    assert client.cancel(failing[0]).state == 3
    with pytest.raises(MedialensError) as err:
        client.analyze("image_quality", CAT, {"nope": 1})
    assert err.value.status == 400 and err.value.code == "invalid_options"
    with pytest.raises(MedialensError) as err:
        client.job(10**12)
    assert err.value.code == "job_not_found"


def test_retries_connection_errors() -> None:
    calls = []

    def flaky(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) < 3:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, json={"tasks": []})

    with Client("http://medialens.test", "a:b", transport=httpx.MockTransport(flaky), backoff_s=0.01) as c:
        assert c.tasks() == []
    assert len(calls) == 3 and calls[0].headers["authorization"] == "Bearer a:b"
    with Client("http://127.0.0.1:9", "a:b", retries=1, backoff_s=0.01) as c, pytest.raises(httpx.ConnectError):
        c.tasks()


def test_async_client(server: LiveServer, credentials: tuple[str, str]) -> None:
    async def main() -> None:
        async with AsyncClient(server.base_url, credentials) as c:
            quality, job = await asyncio.gather(
                c.analyze("image_quality", CAT), c.submit("video_quality", VIDEO.read_bytes())
            )
            assert isinstance(quality, ImageQuality)
            seen: list[int] = []
            done = await c.wait(job, on_progress=lambda j: seen.append(j.state))
            assert isinstance(done.result, VideoQuality) and seen[-1] == 2
            ids = [j.id async for j in c.jobs(task="video_quality", page_size=2)]
            assert done.id in ids and ids == sorted(ids, reverse=True)
            with pytest.raises(MedialensError):
                await c.analyze("no_such_task", CAT)

    asyncio.run(main())
