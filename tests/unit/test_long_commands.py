"""Long commands end with a one-line summary on stderr (their progress shows on a terminal meanwhile):
`medialens media add` (a fetch or copy, probe and cover frame) here; `analyze` and `models pull` have their own
tests (test_analyze_cli.py, models/test_cli_display.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medialens.cli import app
from tests.conftest import MEDIA


@pytest.fixture(autouse=True)
def _settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from medialens.config import get_settings

    monkeypatch.setenv("MEDIALENS_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_media_add_ends_with_a_summary() -> None:
    key = json.loads(CliRunner().invoke(app, ["keys", "create", "--json"]).stdout)["access_key_id"]
    video = MEDIA / "video" / "asl_bird.mkv"
    result = CliRunner().invoke(app, ["media", "add", str(video), "--key", key, "--json"])
    assert result.exit_code == 0, result.output
    media_id = json.loads(result.stdout)["media_id"]
    assert f"registered {video} as {media_id} in " in result.stderr and result.stderr.rstrip().endswith(" s")
