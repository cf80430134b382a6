"""Shared test fixtures: where the shared media lives, and a PostgreSQL URL when one is reachable."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Tests build their own Settings; a MEDIALENS_* variable from the caller's shell must not leak into them (it once
# made a loader test write a toy model into the shared test model dir). The model dir for tests is kept apart.
TEST_MODEL_DIR = Path(os.environ.get("MEDIALENS_TEST_MODEL_DIR", REPO / ".medialens" / "models"))
for _name in [n for n in os.environ if n.startswith("MEDIALENS_") and n not in ("MEDIALENS_TEST_MODEL_DIR",)]:
    if not _name.startswith("MEDIALENS_TEST_") and _name != "MEDIALENS_SHARED_DIR":
        os.environ.pop(_name)
SHARED = Path(os.environ.get("MEDIALENS_SHARED_DIR", REPO.parent / "shared"))
MEDIA = SHARED / "media"


def _labels() -> dict[str, dict]:
    path = MEDIA / "labels.json"
    return {e["file"]: e for e in json.loads(path.read_text())} if path.is_file() else {}


LABELS: dict[str, dict] = _labels()
"""The shared media's labels.json records, by file (e.g. "image/face_rose_leslie_a.jpg")."""
FACE_FILES = sorted(f for f, e in LABELS.items() if e["kind"] == "image" and f.startswith("image/face_"))
POSTGRES_URL = os.environ.get("MEDIALENS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def skip_unless_ci(reason: str) -> None:
    """Skip locally with the reason, but fail under CI: CI machines have everything these tests need."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason}, and CI must have it")
    pytest.skip(f"{reason} (set CI=1 to make this a failure)")


def require_service(host: str, port: int, what: str) -> None:
    """Skip with a reason when a service is absent, but fail under CI, where it must be there."""
    if not _port_open(host, port):
        skip_unless_ci(f"{what} is not reachable on {host}:{port}")


@pytest.fixture(scope="session")
def media_dir() -> Path:
    if not MEDIA.is_dir():
        pytest.fail(f"shared media not found at {MEDIA} (set MEDIALENS_SHARED_DIR)")
    return MEDIA
