"""A medialens cluster on loopback: an API with executor=celery, `medialens worker` subprocesses, PostgreSQL,
Redis, an S3 server (moto) and a media server that can trickle files slowly (to catch jobs mid-flight).

Shared by tests/integration and bench/load.py.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote

import numpy as np

from tests.support import LiveServer, QuietHandler, free_port, live_server
from tests.support import media_server as support_media_server

S3_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


# --- media ---------------------------------------------------------------------------------------------------------
def make_clip(path: Path, seconds: float = 1.0, fps: int = 10, size: tuple[int, int] = (320, 240), seed: int = 0):
    """A short synthetic clip: moving gradients with texture (NIQE needs some structure)."""
    from tests.variants import write_video

    w, h = size
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (h // 8, w // 8, 3), dtype=np.uint8)
    base = np.kron(base, np.ones((8, 8, 1), dtype=np.uint8))
    xs = np.linspace(0, 255, w, dtype=np.float32)[None, :, None]

    def frames():
        for i in range(int(seconds * fps)):
            shift = np.roll(base, i * 4, axis=1).astype(np.float32)
            yield np.clip(0.6 * shift + 0.4 * np.roll(xs, i * 8, axis=1), 0, 255).astype(np.uint8)

    return write_video(path, frames(), fps)


class _Handler(QuietHandler):
    """Static files; ``/slow/<seconds>/<path>`` spreads the body over that many seconds."""

    def do_GET(self) -> None:
        parts = self.path.split("/", 3)
        if len(parts) == 4 and parts[1] == "slow":
            seconds = float(parts[2])
            target = Path(self.directory) / unquote(parts[3].split("?")[0])
            if not target.is_file():
                self.send_error(404)
                return
            data = target.read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            steps = 20
            chunk = max(1, -(-len(data) // steps))
            try:
                for i in range(0, len(data), chunk):
                    self.wfile.write(data[i : i + chunk])
                    self.wfile.flush()
                    time.sleep(seconds / steps)
            except (BrokenPipeError, ConnectionResetError):
                pass
            return
        super().do_GET()


def media_server(root: Path):
    """The loopback media server with the ``/slow/`` route."""
    return support_media_server(root, _Handler)


# --- services --------------------------------------------------------------------------------------------------
def wait_port(port: int, timeout: float = 20.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


class RedisServer:
    """A private redis-server without persistence, so a restart loses every queued message."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        cmd = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.proc = subprocess.Popen(cmd, cwd=self.workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port, proc=self.proc)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)


class MotoServer:
    """``moto_server`` (an S3 API) on a loopback port, with one bucket."""

    def __init__(self, logdir: Path, bucket: str = "medialens") -> None:
        self.port = free_port()
        self.bucket = bucket
        self.logdir = logdir
        self.proc: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        exe = shutil.which("moto_server", path=str(Path(sys.executable).parent)) or shutil.which("moto_server")
        if exe is None:
            raise RuntimeError("moto_server not installed (pip install 'moto[server]')")
        self.logdir.mkdir(parents=True, exist_ok=True)
        log = open(self.logdir / "moto.log", "ab")  # noqa: SIM115
        env = {**os.environ, **S3_ENV}
        self.proc = subprocess.Popen([exe, "-H", "127.0.0.1", "-p", str(self.port)], stdout=log, stderr=log, env=env)
        wait_port(self.port, timeout=30, proc=self.proc)
        import boto3

        boto3.client("s3", endpoint_url=self.endpoint, **_boto_creds()).create_bucket(Bucket=self.bucket)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def _boto_creds() -> dict[str, str]:
    return {
        "aws_access_key_id": S3_ENV["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": S3_ENV["AWS_SECRET_ACCESS_KEY"],
        "region_name": S3_ENV["AWS_DEFAULT_REGION"],
    }


# --- the cluster ---------------------------------------------------------------------------------------------------
class Cluster:
    """One API (executor=celery) and any number of `medialens worker` processes sharing its environment."""

    def __init__(self, workdir: Path, *, database_url: str, broker_url: str, **settings: str) -> None:
        self.workdir = workdir
        base = dict(
            executor="celery",
            database_url=database_url,
            broker_url=broker_url,
            allow_private_urls="true",
            job_lease_s="3",
            recovery_interval_s="1",
        )
        base.update(settings)
        self.api: LiveServer = live_server(workdir / "data", **base)
        self.api.env.update(S3_ENV)
        self.workers: list[subprocess.Popen] = []

    def start_worker(self, concurrency: int = 2, queues: str = "image,video,index,gpu") -> subprocess.Popen:
        n = len(self.workers)
        log = open(self.workdir / f"worker-{n}.log", "ab")  # noqa: SIM115
        cmd = [sys.executable, "-m", "medialens.cli", "worker", "--concurrency", str(concurrency), "--queues", queues]
        proc = subprocess.Popen(cmd, env=self.api.env, stdout=log, stderr=subprocess.STDOUT)
        self.workers.append(proc)
        return proc

    def wait_workers_ready(self, timeout: float = 60.0) -> None:
        """Each live worker writes its record to the blob store once Celery is consuming."""
        from medialens.blobs import open_blob_store

        store = open_blob_store(self.api.settings())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            alive = [p for p in self.workers if p.poll() is None]
            keys = store.list("workers")
            if all(any(k.endswith(f"-{p.pid}.json") for k in keys) for p in alive):
                return
            for i, p in enumerate(self.workers):
                if p.poll() is not None and p.returncode not in (-9, -15):
                    raise RuntimeError(f"worker {i} exited: {self.worker_log(i)}")
            time.sleep(0.1)
        raise RuntimeError(f"workers not ready: {[self.worker_log(i) for i in range(len(self.workers))]}")

    def worker_log(self, n: int) -> str:
        path = self.workdir / f"worker-{n}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def kill_pid(self, pid: int) -> None:
        os.kill(pid, signal.SIGKILL)
        for p in self.workers:
            if p.pid == pid:
                p.wait(10)

    def stop(self) -> None:
        for p in self.workers:
            if p.poll() is None:
                p.terminate()
        for p in self.workers:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        self.api.stop()


@contextmanager
def free_redis_db(host: str = "127.0.0.1", port: int = 6379) -> Iterator[str | None]:
    """A database of the machine's Redis that nothing else uses (empty, then claimed with a lock key), emptied
    afterwards; None when every database is in use."""
    import redis

    for db in range(15, 0, -1):
        client = redis.Redis(host=host, port=port, db=db)
        if client.dbsize() == 0 and client.set("medialens:test-lock", "1", nx=True, ex=900):
            break
        client.close()
    else:
        yield None
        return
    try:
        yield f"redis://{host}:{port}/{db}"
    finally:
        client.flushdb()
        client.close()


@contextmanager
def postgres_schema(admin_url: str) -> Iterator[str]:
    """A throw-away schema; yields a URL whose search_path is that schema."""
    from sqlalchemy import create_engine, text

    schema = f"ml_int_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{admin_url}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
