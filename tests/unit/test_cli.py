"""The `medialens` CLI: apps and jobs commands against a real SQLite store."""

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


def test_apps_create_json_list_delete() -> None:
    creds = json.loads(_ok("apps", "create", "--name", "demo", "--json"))
    assert set(creds) == {"app_id", "token"}
    assert creds["app_id"].isdigit() and len(creds["token"]) == 32
    human = _ok("apps", "create", "--name", "other")
    assert "AppId:" in human and "Token:" in human
    listed = json.loads(_ok("apps", "list", "--json"))
    assert [a["name"] for a in listed] == ["demo", "other"]
    assert "token" not in listed[0]
    assert creds["app_id"] in _ok("apps", "list")
    _ok("apps", "delete", creds["app_id"])
    assert runner.invoke(app, ["apps", "delete", creds["app_id"]]).exit_code == 1


def test_jobs_list_and_show() -> None:
    from medialens.store import jobs
    from medialens.store.apps import create_app
    from medialens.store.db import Database

    db = Database(get_settings().resolved_database_url)
    db.migrate()
    app_id = create_app(db, "x").app_id
    _, (job_id,) = jobs.create_jobs(db, app_id, [jobs.NewJob("video_quality", {"url": "http://x/v.mp4"})])
    rows = json.loads(_ok("jobs", "list", "--json"))
    assert rows[0]["id"] == job_id and rows[0]["state"] == 0
    assert "video_quality" in _ok("jobs", "list")
    shown = json.loads(_ok("jobs", "show", str(job_id)))
    assert shown["inputs"] == {"url": "http://x/v.mp4"}
    assert runner.invoke(app, ["jobs", "show", "999"]).exit_code == 1


def test_help_lists_the_commands() -> None:
    out = _ok("--help")
    for cmd in ("serve", "apps", "jobs", "models"):
        assert cmd in out
