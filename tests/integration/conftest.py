"""Fixtures for the cluster tests: real PostgreSQL and Redis (CI has both), moto as S3, loopback media."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import MEDIA, POSTGRES_URL, require_service, skip_unless_ci
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

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379


@pytest.fixture(scope="session")
def models() -> Path:
    return ensure_models("niqe")


@pytest.fixture(scope="session")
def media_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cluster-media")
    (root / "shared").symlink_to(MEDIA)
    make_clip(root / "clip.mp4", seconds=1.0)
    return root


@pytest.fixture(scope="session")
def media_url(media_root: Path) -> Iterator[str]:
    with media_server(media_root) as base:
        yield base


@pytest.fixture(scope="session")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    server = MotoServer(tmp_path_factory.mktemp("moto"))
    server.start()
    saved = {k: os.environ.get(k) for k in S3_ENV}
    os.environ.update(S3_ENV)  # this process reads the bucket too (moto takes any credentials)
    yield server
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    server.stop()


@pytest.fixture
def pg_url() -> Iterator[str]:
    require_service("127.0.0.1", 5432, "PostgreSQL")
    with postgres_schema(POSTGRES_URL) as url:
        yield url


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A Redis database of the machine's server that nothing else uses, emptied before and after."""
    require_service(REDIS_HOST, REDIS_PORT, "Redis")
    with free_redis_db(REDIS_HOST, REDIS_PORT) as url:
        if url is None:
            skip_unless_ci("no empty Redis database to use")
        yield url


@pytest.fixture
def cluster_factory(tmp_path: Path, models: Path, s3: MotoServer) -> Iterator[Callable[..., Cluster]]:
    made: list[Cluster] = []

    def make(database_url: str, broker_url: str, **settings: str) -> Cluster:
        settings.setdefault("blob_url", f"s3://{s3.bucket}/{tmp_path.name}")
        settings.setdefault("s3_endpoint_url", s3.endpoint)
        cluster = Cluster(
            tmp_path / f"cluster{len(made)}", database_url=database_url, broker_url=broker_url, **settings
        )
        made.append(cluster)
        return cluster

    yield make
    for cluster in made:
        cluster.stop()
    for cluster in made:
        shutil.rmtree(cluster.workdir / "data" / "blobs", ignore_errors=True)


def pai_client(cluster: Cluster):
    from ai_service_python_sdk.client.api_client import ApiClient

    app_id, token = cluster.api.create_app("cluster")
    return ApiClient(cluster.api.base_url, app_id, token)
