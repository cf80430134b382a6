"""Shared test fixtures: where the test media and models live, and a PostgreSQL URL when one is reachable."""

from __future__ import annotations

import atexit
import importlib.util
import json
import os
import shutil
import socket
import tempfile
from pathlib import Path

import pytest

from medialens.config import Settings

REPO = Path(__file__).resolve().parents[1]

# Models for tests are the ones `make serve` uses: the configured model folder (MEDIALENS_MODEL_DIR, else
# <MEDIALENS_DATA_DIR>/models, else ~/.local/share/medialens/models), or MEDIALENS_TEST_MODEL_DIR. Read it from the
# caller's environment before that environment is scrubbed below.
TEST_MODEL_DIR = Path(os.environ.get("MEDIALENS_TEST_MODEL_DIR") or Settings().resolved_model_dir)

# Tests build their own Settings; a MEDIALENS_* variable from the caller's shell must not leak into them (it once
# made a loader test write a toy model into the shared test model dir). MEDIALENS_TEST_* variables configure the
# tests themselves and stay.
for _name in [n for n in os.environ if n.startswith("MEDIALENS_") and not n.startswith("MEDIALENS_TEST_")]:
    os.environ.pop(_name)
# Nor may a test's default Settings() reach the user's data folder, which now holds that same model folder (and the
# database `make serve` uses): during tests the default data folder is a throwaway one.
_DATA_HOME = tempfile.mkdtemp(prefix="medialens-tests-data-")
atexit.register(shutil.rmtree, _DATA_HOME, ignore_errors=True)
os.environ["XDG_DATA_HOME"] = _DATA_HOME

# The real media the tests read ship with the repository (tests/media/CREDITS.md says where each file comes from).
MEDIA = Path(os.environ.get("MEDIALENS_TEST_MEDIA_DIR") or REPO / "tests" / "media")


def _labels() -> dict[str, dict]:
    path = MEDIA / "labels.json"
    return {e["file"]: e for e in json.loads(path.read_text())} if path.is_file() else {}


LABELS: dict[str, dict] = _labels()
"""The test media's labels.json records, by file (e.g. "image/face_rose_leslie_a.jpg")."""
FACE_FILES = sorted(f for f, e in LABELS.items() if e["kind"] == "image" and f.startswith("image/face_"))
POSTGRES_URL = os.environ.get("MEDIALENS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def skip_unless_ci(reason: str, *, module: bool = False) -> None:
    """Skip locally with the reason, but fail under CI: CI machines have everything these tests need
    (``module``: skip or fail the whole test module, called at its top)."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason}, and CI must have it", pytrace=False)
    pytest.skip(f"{reason} (set CI=1 to make this a failure)", allow_module_level=module)


def require_eas_client(*, module: bool = True) -> None:
    """The official ``eas-prediction`` client, which `make test` installs with --no-deps (its pins are too old)."""
    if importlib.util.find_spec("eas_prediction") is None:
        skip_unless_ci("eas-prediction==0.36 is not installed (pip install --no-deps, see the Makefile)", module=module)


def require_service(host: str, port: int, what: str) -> None:
    """Skip with a reason when a service is absent, but fail under CI, where it must be there."""
    if not _port_open(host, port):
        skip_unless_ci(f"{what} is not reachable on {host}:{port}")


@pytest.fixture(scope="session")
def media_dir() -> Path:
    if not MEDIA.is_dir():
        pytest.fail(f"test media not found at {MEDIA} (it ships in tests/media; MEDIALENS_TEST_MEDIA_DIR overrides)")
    return MEDIA


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test needs its own node id: pytest-xdist (`make test`) schedules by node id and silently runs one of
    several tests that share one."""
    seen: dict[str, int] = {}
    for item in items:
        seen[item.nodeid] = seen.get(item.nodeid, 0) + 1
    shared = sorted(nodeid for nodeid, count in seen.items() if count > 1)
    if shared:
        raise pytest.UsageError(f"tests share a node id, so pytest-xdist would run only one of each: {shared[:5]}")
