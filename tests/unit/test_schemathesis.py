"""Schemathesis over the native /v1 OpenAPI, in-process (ASGI, no network): no operation ever answers 5xx.

Requests carry a valid bearer header so they get past auth. No example reaches the network: URLs to private
addresses are refused (``allow_private_urls=False``), name resolution only accepts IP literals, and the send step
of the fetcher refuses to connect. Workers are off, so submitted jobs are only stored, never run.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error

from medialens.app import create_app
from medialens.config import Settings
from medialens.media import fetch
from medialens.store.apps import create_app as create_credentials
from medialens.store.db import Database
from tests import support

# The document only: the app that answers is built (with its own data dir) by the fixture below.
# GET /v1/jobs/{id}/events streams until its job ends, and jobs never run here (no workers): it has its own tests
# (tests/unit/test_native_jobs.py).
schema = (
    schemathesis.openapi.from_dict(create_app(Settings(data_dir=Path("/nonexistent"))).openapi())
    .include(path_regex="^/v1/")
    .exclude(path_regex="/events$")
)
_real_getaddrinfo = socket.getaddrinfo


def _numeric_only_getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
    """Resolve IP literals only (never a DNS query); every name fails like an unknown host."""
    return _real_getaddrinfo(host, port, family, type, proto, flags | socket.AI_NUMERICHOST)


def _no_connect(_client: httpx.Client, vetted) -> httpx.Response:
    raise httpx.ConnectError(f"the schemathesis tests never connect (to {vetted.ips})")


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[object, dict[str, str]]]:
    data_dir = tmp_path_factory.mktemp("schemathesis")
    models = support.test_model_dir()
    settings_ = Settings(
        data_dir=data_dir,
        model_dir=models if (models / "niqe").is_dir() else data_dir / "models",
        allow_private_urls=False,
        fetch_connect_timeout_s=0.5,
        fetch_read_timeout_s=0.5,
    )
    data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings_.resolved_database_url)  # the credential goes in before schemathesis starts the app
    db.migrate()
    cred = create_credentials(db, "schemathesis")
    db.dispose()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket, "getaddrinfo", _numeric_only_getaddrinfo)
        mp.setattr(fetch, "_send", _no_connect)
        yield create_app(settings_, run_workers=False), {"Authorization": f"Bearer {cred.app_id}:{cred.token}"}


# One test per operation with its own id (schemathesis' own ``schema.parametrize()`` gives every operation the same
# node id, so pytest-xdist, which schedules by node id, ran only one of them).
OPERATIONS = [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.label for op in OPERATIONS])
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_no_server_errors(operation, target, data) -> None:
    app, auth = target
    case = data.draw(operation.as_strategy())
    response = case.call(app=app, headers=auth)
    case.validate_response(response, checks=[not_a_server_error])


def test_every_operation_has_its_own_test() -> None:
    assert len(OPERATIONS) >= 25 and len({op.label for op in OPERATIONS}) == len(OPERATIONS)
