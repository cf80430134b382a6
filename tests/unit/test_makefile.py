"""`make test` and `make bench` use the model folder `make serve` uses (asked of `medialens models dir`), unless
TEST_MODEL_DIR says otherwise, and stop rather than pull into an unnamed folder. Run as `make -n` on a stand-in
virtual environment, so nothing is installed or pulled."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


@pytest.fixture
def venv(tmp_path: Path) -> Path:
    """A stand-in venv whose `medialens models dir` prints /srv/models; marked installed (newer than pyproject)."""
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "activate").touch()
    script = bin_dir / "medialens"
    script.write_text('#!/bin/sh\n[ "$1 $2" = "models dir" ] && echo "${FAKE_MODEL_DIR-/srv/models}"\nexit 0\n')
    script.chmod(0o755)
    (tmp_path / "venv" / ".installed").touch()
    return tmp_path / "venv"


def _make(venv: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(REPO), f"VENV={venv}", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_test_and_bench_use_the_serving_model_folder(venv: Path) -> None:
    for target in ("test", "bench"):
        out = _make(venv, "-n", target)
        assert out.returncode == 0, out.stderr
        assert f'MEDIALENS_MODEL_DIR="/srv/models" {venv}/bin/medialens models pull --bundle offline' in out.stdout
        assert 'MEDIALENS_TEST_MODEL_DIR="/srv/models"' in out.stdout
        assert ".medialens/models" not in out.stdout


def test_test_model_dir_overrides(venv: Path) -> None:
    out = _make(venv, "-n", "test", "TEST_MODEL_DIR=/elsewhere")
    assert 'MEDIALENS_MODEL_DIR="/elsewhere"' in out.stdout and "/srv/models" not in out.stdout


def test_no_model_folder_stops_make_test(venv: Path) -> None:
    out = _make(venv, "test", FAKE_MODEL_DIR="")
    assert out.returncode != 0
    assert "no model folder" in out.stdout and "models pull" not in out.stdout
