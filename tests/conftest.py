"""Shared test fixtures: where the shared media lives, and a PostgreSQL URL when one is reachable."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Tests build their own Settings; a MEDIALENS_* variable from the caller's shell must not leak into them (it once
# made a loader test write a toy model into the shared test model dir). The model dir for tests is kept apart.
TEST_MODEL_DIR = Path(os.environ.get("MEDIALENS_TEST_MODEL_DIR", REPO / ".medialens" / "models"))
for _name in [n for n in os.environ if n.startswith("MEDIALENS_") and n not in ("MEDIALENS_TEST_MODEL_DIR",)]:
    if _name not in ("MEDIALENS_SHARED_DIR", "MEDIALENS_TEST_POSTGRES_URL", "MEDIALENS_TEST_NETWORK"):
        os.environ.pop(_name)
SHARED = Path(os.environ.get("MEDIALENS_SHARED_DIR", REPO.parent / "shared"))
MEDIA = SHARED / "media"
POSTGRES_URL = os.environ.get("MEDIALENS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_service(host: str, port: int, what: str) -> None:
    """Skip with a reason when a service is absent, but fail under CI, where it must be there."""
    if _port_open(host, port):
        return
    if os.environ.get("CI"):
        pytest.fail(f"{what} is not reachable on {host}:{port}, and CI must have it")
    pytest.skip(f"{what} is not reachable on {host}:{port} (set CI=1 to make this a failure)")


@pytest.fixture(scope="session")
def media_dir() -> Path:
    if not MEDIA.is_dir():
        pytest.fail(f"shared media not found at {MEDIA} (set MEDIALENS_SHARED_DIR)")
    return MEDIA
