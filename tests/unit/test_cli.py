"""The `medialens` CLI: apps and jobs commands against a real SQLite store, flags, `python -m medialens`, and what
`medialens serve` says once it listens."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import typer
from typer.testing import CliRunner

from medialens.cli import app, server_banner
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


def _commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every command under ``command`` (typer carries its own copy of click: duck-typed, not isinstance)."""
    yield path, command
    for name, sub in (getattr(command, "commands", None) or {}).items():
        yield from _commands(sub, (*path, name))


def test_boolean_options_are_flags_in_every_command() -> None:
    """`--json`, not `--json <bool>`: a yes/no option takes no value, and --help must not suggest one."""
    commands = list(_commands(typer.main.get_command(app)))
    assert {("models", "list"), ("models", "pull"), ("apps", "create"), ("jobs", "list")} <= {p for p, _ in commands}
    checked = 0
    for path, command in commands:
        for param in command.params:
            if param.param_type_name == "option" and param.type_descriptor.annotation is bool:
                assert param.is_flag, (path, param.name)
                checked += 1
        help_text = _ok(*path, "--help")
        assert "<bool>" not in help_text, (path, help_text)
    assert checked >= 6
    assert re.search(r"^\s+--json\s+Print \{app_id, token\} as JSON", _ok("apps", "create", "--help"), re.M)
    assert json.loads(_ok("apps", "create", "--name", "x", "--json"))["app_id"]


def test_python_dash_m_runs_the_cli() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "medialens", "--help"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert out.startswith("Usage: medialens ") and "models" in out and "serve" in out


def test_serve_says_where_it_listens_and_what_next(tmp_path) -> None:
    """Started as a newcomer would (`python -m medialens serve`): the URL, the docs, the next step, then a goodbye."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIALENS_")}
    env.update(MEDIALENS_DATA_DIR=str(tmp_path), MEDIALENS_WORKERS="1", PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "medialens", "serve", "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        first = proc.stdout.readline()  # blocks until the banner (or EOF if the server died)
        match = re.match(r"medialens is up at (http://127\.0\.0\.1:(\d+))$", first.strip())
        assert match, first
        rest = [proc.stdout.readline() for _ in range(4)]
        assert rest[0].split() == ["API", "docs:", f"{match[1]}/docs"]
        assert str(tmp_path) in rest[1] and "medialens apps create --name demo" in rest[2] and "Ctrl+C" in rest[3]
        assert httpx.get(f"{match[1]}/docs", timeout=10).status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        tail, _ = proc.communicate(timeout=30)
    assert tail.strip().endswith("medialens stopped"), tail


def test_banner_for_a_wildcard_bind() -> None:
    text = server_banner("0.0.0.0", 8000, "/data")
    assert text.splitlines()[0] == "medialens is up at http://127.0.0.1:8000 (bound to 0.0.0.0: every address)"
    assert "http://[::1]:8000/docs" in server_banner("::1", 8000, "/data")
    assert max(len(line) for line in text.splitlines()) <= 80
