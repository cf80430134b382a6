"""Bounded load test of the cluster on loopback: PostgreSQL + Redis (the machine's), moto as S3, an API with
executor=celery and `medialens worker` processes, driven through the official PAI SDK.

  python bench/load.py [--videos 200] [--images 50] [--concurrency 50] [--max-seconds 300]

Phase 1 runs the video jobs with 1 worker, then with 2 (one job thread each), in alternated rounds, and reports the
mean throughput ratio. In the first 2-worker run it also times single image requests through the idle cluster
against the bare task, then sends the image requests all at once (50 concurrent) while the workers are busy on
videos.
Each phase prints throughput, p50, p99, errors and lost jobs (a job not finished when the phase's time is up).
Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from ai_service_python_sdk.client.api.ai_service_image_api import AiServiceImageApi
from ai_service_python_sdk.client.api.ai_service_video_api import AiServiceVideoApi
from ai_service_python_sdk.client.api_client import ApiClient
from ai_service_python_sdk.client.models.batch_video_request_videos import BatchVideoRequestVideos
from sqlalchemy import select
from tests.conftest import MEDIA, POSTGRES_URL, TEST_MODEL_DIR, _port_open
from tests.integration.cluster import (
    S3_ENV,
    Cluster,
    MotoServer,
    free_redis_db,
    make_clip,
    media_server,
    postgres_schema,
)
from tests.support import ensure_models

import cpu_account
from medialens.store.db import Database
from medialens.store.tables import Job

BATCH = 20


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def report(name: str, n: int, wall: float, latencies: list[float], errors: int, lost: int) -> float:
    rate = (n - errors - lost) / wall if wall > 0 else 0.0
    print(
        f"{name:<28} n={n:<4} wall={wall:7.2f}s  throughput={rate:7.2f}/s  "
        f"p50={pct(latencies, 50):6.3f}s  p99={pct(latencies, 99):6.3f}s  errors={errors}  lost={lost}",
        flush=True,
    )
    return rate


def run_videos(cluster: Cluster, db_url: str, client: ApiClient, urls: list[str], max_s: float) -> float:
    api = AiServiceVideoApi(client)
    cpu_before = cpu_account.snapshot()
    started = time.monotonic()
    batch_ids: list[int] = []
    errors = 0
    for i in range(0, len(urls), BATCH):
        try:
            response = api.batch_video_qa([BatchVideoRequestVideos(u, "") for u in urls[i : i + BATCH]], "", {})
            batch_ids.append(response.data["batch_id"])
        except Exception:
            errors += len(urls[i : i + BATCH])
    db = Database(db_url)
    query = select(Job.state, Job.create_time, Job.started_at, Job.finished_at, Job.worker).where(
        Job.batch_id.in_(batch_ids)
    )
    try:
        while time.monotonic() - started < max_s:
            with db.session() as s:
                rows = list(s.execute(query))
            if len(rows) == len(urls) - errors and all(r.state in (2, 3) for r in rows):
                break
            time.sleep(0.2)
        wall = time.monotonic() - started
        cpu = cpu_account.cpu_by_role(cpu_before, cpu_account.snapshot())
        with db.session() as s:
            rows = list(s.execute(query))
    finally:
        db.dispose()
    latencies = [(r.finished_at - r.create_time).total_seconds() for r in rows if r.state == 2]
    errors += sum(1 for r in rows if r.state == 3)
    lost = len(urls) - errors - len(latencies)
    rate = report(f"video jobs, {len(cluster.workers)} worker(s)", len(urls), wall, latencies, errors, lost)
    print(f"{'':<28} {cpu_account.format_cpu(cpu, wall)}", flush=True)
    print(f"{'':<28} {occupancy(rows)}", flush=True)
    return rate


def occupancy(rows) -> str:
    """How much of its time each worker process spent inside jobs, and its mean gap between two jobs: the part of
    scaling that the queue and the job bookkeeping cost, apart from the cores."""
    by_worker: dict[str, list[tuple]] = {}
    for r in rows:
        if r.started_at and r.finished_at and r.worker:
            by_worker.setdefault(r.worker.rsplit(":", 1)[0], []).append((r.started_at, r.finished_at))
    parts = []
    for runs in by_worker.values():
        runs.sort()
        span = (runs[-1][1] - runs[0][0]).total_seconds()
        inside = sum((b - a).total_seconds() for a, b in runs)
        gaps = [(runs[i + 1][0] - runs[i][1]).total_seconds() for i in range(len(runs) - 1)]
        parts.append(
            f"{len(runs)} jobs, {inside / span:.0%} in jobs, {np.mean(gaps or [0]) * 1000:.1f} ms between, "
            f"{inside / len(runs) * 1000:.0f} ms/job"
        )
    return "workers: " + "; ".join(parts)


def warm_up(db_url: str, client: ApiClient, url: str, workers: int) -> None:
    """Load the models in every worker before the clock starts: a worker's first job also loads them."""
    api = AiServiceVideoApi(client)
    ids = [api.video_qa(f"{url}?warm={i}", "", "", {}).data["job_id"] for i in range(4 * workers)]
    db = Database(db_url)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with db.session() as s:
                states = list(s.scalars(select(Job.state).where(Job.id.in_(ids))))
            if all(state in (2, 3) for state in states):
                return
            time.sleep(0.1)
    finally:
        db.dispose()


def image_latency(client: ApiClient, url: str, n: int = 40) -> None:
    """One ImageQA request at a time through the idle cluster (API → Redis → image worker → Redis → API) against
    the same task run bare in this process (fetch, decode, NIQE; one thread, as each worker has): the cost of the
    synchronous path through the workers."""
    from medialens.config import Settings
    from medialens.jobs.sync_calls import run_locally
    from medialens.models.runtime import prepare_process

    settings = Settings(allow_private_urls=True, model_threads=1)
    prepare_process(settings)  # as the workers do
    api = AiServiceImageApi(client)
    inputs = {"url": url, "options": {}}
    run_locally(settings, "image_quality", inputs)  # warm both
    api.image_qa(url, "", {})
    bare, served = [], []
    for _ in range(n):  # interleaved, so drift in the machine's speed hits both alike
        t0 = time.perf_counter()
        run_locally(settings, "image_quality", inputs)
        bare.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        api.image_qa(url, "", {})
        served.append(time.perf_counter() - t0)
    print(
        f"image request, idle cluster: p50 {pct(served, 50) * 1000:.1f} ms vs the bare task "
        f"{pct(bare, 50) * 1000:.1f} ms = {pct(served, 50) / pct(bare, 50):.2f}x",
        flush=True,
    )


def run_images(client_factory, url: str, n: int, concurrency: int) -> None:
    def one(_i: int) -> tuple[float, bool]:
        t0 = time.monotonic()
        try:
            response = AiServiceImageApi(client_factory()).image_qa(url, "", {})
            ok = response.code == "OK" and 0 <= response.data["iqa_result"] <= 100
        except Exception:
            ok = False
        return time.monotonic() - t0, ok

    started = time.monotonic()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(one, range(n)))
    wall = time.monotonic() - started
    report(
        f"image requests, {concurrency} concurrent",
        n,
        wall,
        [t for t, ok in results if ok],
        sum(not ok for _, ok in results),
        0,
    )


def cluster_run(workdir: Path, s3: MotoServer, media: str, workers: int, args, images: bool) -> float:
    with postgres_schema(POSTGRES_URL) as db_url, free_redis_db() as broker_url:
        if broker_url is None:
            raise SystemExit("no empty Redis database on 127.0.0.1:6379")
        cluster = Cluster(
            workdir,
            database_url=db_url,
            broker_url=broker_url,
            blob_url=f"s3://{s3.bucket}/bench-{uuid.uuid4().hex[:6]}",
            s3_endpoint_url=s3.endpoint,
            job_poll_interval_s="0.2",
            recovery_interval_s="2",
            # each worker gets one core's worth of threads, as a deployment of one worker per core would
            model_threads=str(args.threads_per_worker),
            decode_threads=str(args.threads_per_worker),
        )
        try:
            cluster.api.start()
            for _ in range(workers):
                cluster.start_worker(concurrency=1)
            cluster.wait_workers_ready()
            app_id, token = cluster.api.create_app("bench")
            client = ApiClient(cluster.api.base_url, app_id, token)
            warm_up(db_url, client, f"{media}/clip.mp4", workers)
            if images:
                image_latency(client, f"{media}/shared/image/skimage_cat_chelsea.png")
            rate = run_videos(
                cluster, db_url, client, [f"{media}/clip.mp4?n={i}" for i in range(args.videos)], args.max_seconds
            )
            if images:
                image_url = f"{media}/shared/image/skimage_cat_chelsea.png"
                # the images arrive while the workers chew on a fresh video backlog
                run_videos_bg = ThreadPoolExecutor(1).submit(
                    run_videos,
                    cluster,
                    db_url,
                    client,
                    [f"{media}/clip.mp4?m={i}" for i in range(args.videos)],
                    args.max_seconds,
                )
                run_images(
                    lambda: ApiClient(cluster.api.base_url, app_id, token), image_url, args.images, args.concurrency
                )
                run_videos_bg.result()
            return rate
        finally:
            cluster.stop()


def machine_ceiling(clip: Path, runs: int) -> float:
    """Throughput of the bare analysis in 2 processes at once over 1 process alone: what this machine's cores
    allow two single-threaded workers at best, with nothing of medialens around them."""
    cmd = [sys.executable, str(Path(__file__).with_name("bare_video_qa.py")), str(clip), str(runs)]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}

    def rate(processes: int) -> float:
        procs = [
            subprocess.Popen(cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            for _ in range(processes)
        ]
        for p in procs:  # all loaded and warm before any starts
            if p.stdout.readline().strip() != "ready":
                raise SystemExit("bare_video_qa.py failed")
        for p in procs:
            p.stdin.write("go\n")
            p.stdin.flush()
        seconds = [float(p.communicate()[0]) for p in procs]
        return sum(runs / s for s in seconds)

    ratios = []
    for _ in range(2):  # alternated: this machine's speed drifts within a minute
        one, two = rate(1), rate(2)
        ratios.append(two / one)
        print(f"bare analysis, no cluster: 1 process {one:.2f}/s, 2 processes {two:.2f}/s = {ratios[-1]:.2f}x")
    return float(np.mean(ratios))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--videos", type=int, default=200)
    parser.add_argument("--images", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--clip-seconds", type=float, default=4.0, help="Length of the 320x240 test clip.")
    parser.add_argument("--max-seconds", type=float, default=300.0, help="Time bound of each phase.")
    parser.add_argument("--rounds", type=int, default=2, help="1-worker and 2-worker runs, alternated.")
    parser.add_argument(
        "--threads-per-worker", type=int, default=1, help="MEDIALENS_MODEL_THREADS and _DECODE_THREADS of each worker."
    )
    args = parser.parse_args()
    for host, port, what in (("127.0.0.1", 5432, "PostgreSQL"), ("127.0.0.1", 6379, "Redis")):
        if not _port_open(host, port):
            raise SystemExit(f"{what} is not reachable on {host}:{port}")
    os.environ.setdefault("MEDIALENS_MODEL_DIR", str(TEST_MODEL_DIR))  # the model folder `make serve` uses
    ensure_models("niqe")
    with tempfile.TemporaryDirectory(prefix="medialens-load-") as tmp:
        root = Path(tmp)
        (root / "media").mkdir()
        (root / "media" / "shared").symlink_to(MEDIA)
        make_clip(root / "media" / "clip.mp4", seconds=args.clip_seconds)
        ceiling = machine_ceiling(root / "media" / "clip.mp4", runs=args.videos // 2)
        s3 = MotoServer(root / "moto")
        s3.start()
        os.environ.update(S3_ENV)
        try:
            with media_server(root / "media") as media:
                ratios = []
                for r in range(args.rounds):  # alternated, as for the bare analysis: the machine's speed drifts
                    one = cluster_run(root / f"one-{r}", s3, media, 1, args, images=False)
                    two = cluster_run(root / f"two-{r}", s3, media, 2, args, images=args.images > 0 and r == 0)
                    ratios.append(two / one)
                    print(f"round {r + 1}: 2 workers / 1 worker = {ratios[-1]:.2f}x", flush=True)
        finally:
            s3.stop()
    ratio = float(np.mean(ratios))
    print(f"throughput 2 workers / 1 worker = {ratio:.2f}x (target >= 1.8x; {os.cpu_count()} CPU cores here)")
    print(f"the bare analysis scales {ceiling:.2f}x on this machine: the cluster keeps {ratio / ceiling:.0%} of it")


if __name__ == "__main__":
    main()
