"""docker-compose.yml, run without Docker: its medialens services' own commands and environment, with the hosts
`postgres`, `redis` and `minio` mapped onto CI's PostgreSQL and Redis and a moto S3 on loopback.

No Docker engine runs on these machines; this checks what the compose file says to the program (variables,
commands, queues, health check) against the program itself. With ``MEDIALENS_TEST_BUILDAH_CONTAINER`` set to a
buildah working container of the image (see tools/build_image.sh), the services run from the built image instead
of this checkout, each with its own command and environment.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml
from ai_service_python_sdk.client.api.ai_service_image_api import AiServiceImageApi
from ai_service_python_sdk.client.api.ai_service_video_api import AiServiceVideoApi
from ai_service_python_sdk.client.api_client import ApiClient

from medialens.config import Settings
from medialens.jobs.broker import QUEUES
from tests import support
from tests.integration.cluster import S3_ENV, wait_port

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
OURS = {name: svc for name, svc in SERVICES.items() if svc.get("image") == "medialens:latest"}


def test_the_compose_file_describes_what_the_program_accepts() -> None:
    assert set(OURS) == {"api", "models", "worker-image", "worker-video"}
    fields = {f"MEDIALENS_{name.upper()}" for name in Settings.model_fields}
    for name, svc in OURS.items():
        unknown = {k for k in svc["environment"] if k.startswith("MEDIALENS_")} - fields
        assert not unknown, (name, unknown)
        assert svc["command"][0] == "medialens"
        help_run = subprocess.run(
            [sys.executable, "-m", "medialens.cli", *svc["command"][1:], "--help"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert help_run.returncode == 0, (name, help_run.stderr[-2000:])
        for dep in svc.get("depends_on") or {}:
            assert dep in SERVICES, (name, dep)
    consumed = {q for svc in OURS.values() if "worker" in svc["command"] for q in svc["command"][-1].split(",")}
    assert {"image", "video"} <= consumed <= set(QUEUES)
    assert {v.split(":")[0] for svc in SERVICES.values() for v in svc.get("volumes", [])} <= set(COMPOSE["volumes"])
    dockerfile = (ROOT / "Dockerfile").read_text()
    for line in dockerfile.splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), line


def _environment(svc: dict, *, pg_url: str, redis_url: str, s3, data_dir: Path) -> dict[str, str]:
    """The service's environment with compose's host names pointed at the loopback services."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIALENS_")}
    given = {k: str(v) for k, v in svc["environment"].items()}
    assert given["MEDIALENS_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert given["MEDIALENS_BROKER_URL"].startswith("redis://redis:6379/")
    assert given["MEDIALENS_S3_ENDPOINT_URL"] == "http://minio:9000"
    bucket = given["MEDIALENS_BLOB_URL"].removeprefix("s3://").split("/")[0]
    given.update(
        MEDIALENS_DATABASE_URL=pg_url,
        MEDIALENS_BROKER_URL=redis_url,
        MEDIALENS_S3_ENDPOINT_URL=s3.endpoint,
        MEDIALENS_BLOB_URL=given["MEDIALENS_BLOB_URL"].replace(f"s3://{bucket}", f"s3://{s3.bucket}", 1),
        MEDIALENS_DATA_DIR=str(data_dir),
        MEDIALENS_MODEL_DIR=str(support.test_model_dir()),
        MEDIALENS_ALLOW_PRIVATE_URLS="true",  # the media server is on loopback
        PYTHONUNBUFFERED="1",
    )
    if "MEDIALENS_WORKER_METRICS_PORT" in given:  # containers each have their own :9100; processes here do not
        assert given["MEDIALENS_WORKER_METRICS_PORT"] == "9100" and "9100" in svc.get("expose", [])
        given["MEDIALENS_WORKER_METRICS_PORT"] = str(support.free_port())
    env.update(given)
    env.update(S3_ENV)  # moto takes any credentials; compose's MinIO ones would do as well
    return env


def _start(name: str, command: list[str], env: dict[str, str], logdir: Path) -> subprocess.Popen:
    log = open(logdir / f"{name}.log", "ab")  # noqa: SIM115
    container = os.environ.get("MEDIALENS_TEST_BUILDAH_CONTAINER")
    if not container:
        argv = [sys.executable, "-m", "medialens.cli", *command[1:]]
        return subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
    # The image's own `medialens`, as its user; the host's loopback services, data and model folders.
    data, models = Path(env["MEDIALENS_DATA_DIR"]), env["MEDIALENS_MODEL_DIR"]
    data.mkdir(parents=True, exist_ok=True)
    data.chmod(0o777)
    passed = {k: v for k, v in env.items() if k.startswith(("MEDIALENS_", "AWS_"))}
    argv = ["buildah", "--storage-driver", "vfs", "run", "--isolation", "chroot"]
    argv += [f"--env={k}={v}" for k, v in passed.items()]
    argv += ["-v", f"{data}:{data}", "-v", f"{models}:{models}:ro", container, "--", *command]
    return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


@pytest.fixture
def compose_up(tmp_path: Path, models, s3, pg_url: str, redis_url: str):
    procs: list[subprocess.Popen] = []
    port = support.free_port()
    api = OURS["api"]
    command = [str(port) if part == "8000" else part for part in api["command"]]
    command = ["127.0.0.1" if part == "0.0.0.0" else part for part in command]
    envs = {
        name: _environment(OURS[name], pg_url=pg_url, redis_url=redis_url, s3=s3, data_dir=tmp_path / name)
        for name in ("api", "worker-image", "worker-video")
    }
    try:
        procs.append(_start("api", command, envs["api"], tmp_path))
        wait_port(port, timeout=60, proc=procs[-1])
        for name in ("worker-image", "worker-video"):
            procs.append(_start(name, OURS[name]["command"], envs[name], tmp_path))
        yield f"http://127.0.0.1:{port}", envs, api, tmp_path
    finally:
        for p in procs:
            _stop(p)


def _stop(proc: subprocess.Popen) -> None:
    if os.environ.get("MEDIALENS_TEST_BUILDAH_CONTAINER"):  # the whole process group: buildah and the service
        import signal

        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
    else:
        proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_the_compose_services_run_as_a_cluster(compose_up, media_url: str) -> None:
    base_url, envs, api, logdir = compose_up
    env = envs["api"]
    # the API's health check, as compose runs it (its port mapped to this test's)
    check = [part.replace("8000", base_url.rsplit(":", 1)[1]) for part in api["healthcheck"]["test"][1:]]
    assert subprocess.run(check, timeout=30).returncode == 0
    out = subprocess.run(
        [sys.executable, "-m", "medialens.cli", "apps", "create", "--name", "compose", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    creds = json.loads(out.stdout)
    client = ApiClient(base_url, creds["app_id"], creds["token"])
    deadline = time.monotonic() + 60  # the workers start while we ask
    while True:
        try:
            data = AiServiceImageApi(client).image_qa(f"{media_url}/shared/image/skimage_cat_chelsea.png", "", {})
            break
        except Exception:
            if time.monotonic() > deadline:
                raise AssertionError([(p.name, p.read_text()[-2000:]) for p in logdir.glob("*.log")]) from None
            time.sleep(1)
    assert 0 <= data.data["iqa_result"] <= 100  # answered by worker-image: the API runs no analysis
    job_id = AiServiceVideoApi(client).video_qa(f"{media_url}/clip.mp4", "", "", {}).data["job_id"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = httpx.get(
            f"{base_url}/v1/jobs/{job_id}", headers={"Authorization": f"Bearer {creds['app_id']}:{creds['token']}"}
        ).json()
        if job["state"] in (2, 3):
            break
        time.sleep(0.3)
    assert job["state"] == 2, job
    ready = httpx.get(f"{base_url}/readyz").json()
    assert ready["status"] == "ok", ready
    for name, task in (("worker-image", "image_quality"), ("worker-video", "video_quality")):
        port = envs[name]["MEDIALENS_WORKER_METRICS_PORT"]
        text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
        assert f'task="{task}"' in text, (name, text[-2000:])
