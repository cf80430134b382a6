"""ImageQA and VideoQA speed, measured in one run.

1. ImageQA through the HTTP API (official SDK → live server → fetch → decode → NIQE) vs the bare analysis on the
   same image files (decode → NIQE, in process). Target: overhead ≤ 1.3×.
2. VideoQA real-time factor on a 60 s 1280×720 H.264 clip, end to end through the API (submit → poll until state 2)
   and for the bare analysis (decode + sample + score). Target: ≥ 10× faster than real time on 2 cores.

Run: `make bench` (or `python bench/quality.py` with the niqe model installed).
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ai_service_python_sdk.client.api.ai_service_image_api import AiServiceImageApi
from ai_service_python_sdk.client.api.ai_service_job_api import AiServiceJobApi
from ai_service_python_sdk.client.api.ai_service_video_api import AiServiceVideoApi
from ai_service_python_sdk.client.api_client import ApiClient
from tests.conftest import MEDIA
from tests.support import ensure_models, live_server, media_server

from clips import moving_clip
from medialens.analyses.image_quality import assess_image
from medialens.analyses.niqe import NiqeModel
from medialens.analyses.video_quality import assess_video
from medialens.config import Settings
from medialens.media.images import load_image
from medialens.media.video import probe_video
from medialens.models.loader import get_pipeline
from medialens.tasks.intake import sampled_frames

IMAGES = [
    "skimage_cat_chelsea.png",
    "skimage_cameraman.png",
    "face_alex_lacamoire_a.jpg",
    "face_kit_harington_c.jpg",
    "face_rose_leslie_b.jpg",
    "skimage_motorcycle.png",
]
ROUNDS = 5


def bench_images(client: ApiClient, media_url: str, model: NiqeModel, settings: Settings) -> None:
    api = AiServiceImageApi(client)
    files = [(MEDIA / "image" / n).read_bytes() for n in IMAGES]
    for name in IMAGES:  # warm-up: model load, connection pool
        api.image_qa(f"{media_url}/image/{name}", "", {})
    start = time.perf_counter()
    for _ in range(ROUNDS):
        for data in files:
            assess_image(load_image(data, settings=settings), model)
    bare = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(ROUNDS):
        for name in IMAGES:
            assert api.image_qa(f"{media_url}/image/{name}", "", {}).code == "OK"
    api_time = time.perf_counter() - start
    n = ROUNDS * len(IMAGES)
    print(f"ImageQA, {n} requests over {len(IMAGES)} real images:")
    print(f"  bare analysis (file bytes -> decode -> score): {bare / n * 1000:7.1f} ms/image")
    print(f"  through the HTTP API (SDK, fetch, decode): {api_time / n * 1000:7.1f} ms/image")
    print(f"  overhead ratio API / bare: {api_time / bare:.2f}x   (target <= 1.3x)")


def bench_video(client: ApiClient, media_url: str, clip: Path, model: NiqeModel, settings: Settings) -> None:
    info = probe_video(clip, settings=settings)
    start = time.perf_counter()
    assess_video(info, sampled_frames(clip, info, settings), model)
    bare = time.perf_counter() - start
    start = time.perf_counter()
    job_id = AiServiceVideoApi(client).video_qa(f"{media_url}/gen/{clip.name}", "", "", {}).data["job_id"]
    jobs = AiServiceJobApi(client)
    while (job := jobs.get_async_job(job_id).data["job"])["state"] not in (2, 3):
        time.sleep(0.05)
    e2e = time.perf_counter() - start
    assert job["state"] == 2, job
    print(f"VideoQA on a {info.duration_s:.0f} s {info.width}x{info.height} H.264 clip:")
    print(f"  bare analysis: {bare:6.2f} s  -> {info.duration_s / bare:5.1f}x faster than real time")
    print(
        f"  through the API (submit -> state 2): {e2e:6.2f} s  -> {info.duration_s / e2e:5.1f}x real time"
        "   (target >= 10x)"
    )


@contextmanager
def served_bench() -> Iterator[tuple[ApiClient, str, Path]]:
    """A live `medialens serve` with a client, and a loopback media server with the shared images under /image and
    a generated 60 s 720p clip under /gen; yields (client, media URL, clip path)."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "media"
        (root / "gen").mkdir(parents=True)
        (root / "image").symlink_to(MEDIA / "image")
        clip = moving_clip(root / "gen" / "clip_720p_60s.mp4")
        server = live_server(Path(tmp) / "server", allow_private_urls="true")
        server.start()
        try:
            client = ApiClient(server.base_url, *server.create_app("bench"))
            with media_server(root) as media_url:
                yield client, media_url, clip
        finally:
            server.stop()


def main() -> None:
    model_dir = ensure_models("niqe")
    settings = Settings(model_dir=model_dir)
    model = get_pipeline("niqe", settings).model
    with served_bench() as (client, media_url, clip):
        bench_images(client, media_url, model, settings)
        bench_video(client, media_url, clip, model, settings)


if __name__ == "__main__":
    main()
