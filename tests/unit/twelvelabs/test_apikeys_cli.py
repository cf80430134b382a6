"""`medialens apikeys create [--json] | list | delete`."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from medialens.cli import app
from medialens.config import get_settings

runner = CliRunner()


@pytest.fixture(autouse=True)
def data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("MEDIALENS_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def _ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_create_list_delete() -> None:
    made = json.loads(_ok("apikeys", "create", "--json"))
    assert set(made) == {"api_key"} and made["api_key"].startswith("tlk_")
    assert "API key:" in _ok("apikeys", "create")
    listed = json.loads(_ok("apikeys", "list", "--json"))
    assert len(listed) == 2 and made["api_key"][:12] in {k["prefix"] for k in listed}
    assert made["api_key"] not in _ok("apikeys", "list")  # keys are stored hashed, shown once
    _ok("apikeys", "delete", made["api_key"][:12])
    assert runner.invoke(app, ["apikeys", "delete", made["api_key"]]).exit_code == 1
    assert len(json.loads(_ok("apikeys", "list", "--json"))) == 1
