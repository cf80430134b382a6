"""`medialens analyze` and `medialens watch` in this process: a folder batch with its progress bar, results files
(CSV and JSONL, one row per input), one file's table and JSON, bad inputs, and a watched folder."""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medialens.analyze_cli import expand_inputs, iter_rows, resolve_task
from medialens.cli import app
from tests import support
from tests.conftest import MEDIA

IMAGES = ("skimage_cat_chelsea.png", "skimage_coins.png", "skimage_clock_motion_blur.png")


@pytest.fixture(autouse=True)
def _settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from medialens.config import get_settings

    monkeypatch.setenv("MEDIALENS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MEDIALENS_MODEL_DIR", str(support.ensure_models("niqe")))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "in"
    (root / "sub").mkdir(parents=True)
    for name in IMAGES[:2]:
        shutil.copy(MEDIA / "image" / name, root / name)
    shutil.copy(MEDIA / "image" / IMAGES[2], root / "sub" / IMAGES[2])
    shutil.copy(MEDIA / "video" / "intel_bottles.mp4", root / "sub" / "clip.mp4")
    (root / "notes.md").write_text("not media")
    (root / "broken.jpg").write_bytes(b"not a jpeg")
    return root


def test_folder_batch_with_progress_and_csv(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "results.csv"
    result = CliRunner().invoke(app, ["analyze", str(folder), "--task", "quality", "--output", str(out)])
    assert result.exit_code == 1, result.output  # broken.jpg failed, the rest went on
    assert "5/5" in result.stderr and "files/s" in result.stderr, result.stderr
    assert "analysed 5 files in" in result.stderr and "4 ok, 1 failed" in result.stderr
    rows = {Path(r["input"]).name: r for r in iter_rows(out)}
    assert set(rows) == {*IMAGES, "clip.mp4", "broken.jpg"}
    assert rows["clip.mp4"]["task"] == "video_quality" and float(rows["clip.mp4"]["duration_s"]) > 0
    assert rows["skimage_cat_chelsea.png"]["task"] == "image_quality"
    assert 0 <= float(rows["skimage_cat_chelsea.png"]["score"]) <= 100
    assert rows["broken.jpg"]["ok"] == "False" and rows["broken.jpg"]["error"]
    assert float(rows["skimage_clock_motion_blur.png"]["score"]) < float(rows["skimage_cat_chelsea.png"]["score"])


def test_glob_and_list_file_to_jsonl(folder: Path, tmp_path: Path) -> None:
    listed = tmp_path / "inputs.txt"
    listed.write_text(f"# two images\n{folder / IMAGES[0]}\n\n{folder / IMAGES[1]}\n")
    out = tmp_path / "results.jsonl"
    result = CliRunner().invoke(app, ["analyze", str(listed), "-t", "image_quality", "--output", str(out), "--json"])
    assert result.exit_code == 0, result.output
    rows = list(iter_rows(out))
    assert [Path(r["input"]).name for r in sorted(rows, key=lambda r: r["input"])] == sorted(IMAGES[:2])
    assert all(r["ok"] and r["result"]["score"] > 0 for r in rows)
    printed = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(printed) == 2
    assert expand_inputs([str(folder / "*.png")]) == (sorted(str(folder / n) for n in IMAGES[:2]), True)


def test_one_file_prints_a_table_or_json(folder: Path) -> None:
    result = CliRunner().invoke(app, ["analyze", str(folder / IMAGES[0]), "-t", "quality"])
    assert result.exit_code == 0, result.output
    assert "image_quality" in result.stdout and "score" in result.stdout
    assert "analysed 1 file in" in result.stderr and "1 ok, 0 failed" in result.stderr  # the one-line summary
    result = CliRunner().invoke(app, ["analyze", str(folder / IMAGES[0]), "-t", "quality", "--json"])
    assert json.loads(result.stdout)["result"]["width"] == 451


def test_one_video_reports_its_progress(folder: Path) -> None:
    """In this process too, a long task's progress reaches the command's status line, frame by frame."""
    from medialens.analyze_cli import LocalRunner, analyse_one

    seen: list[str] = []
    row = analyse_one(LocalRunner(), "quality", str(folder / "sub" / "clip.mp4"), {}, seen.append)
    assert row.ok, row.error
    shares = [int(m.split()[-1].rstrip("%")) for m in seen if m.startswith("video analyzing ")]
    assert len(shares) >= 10 and shares == sorted(shares) and shares[-1] >= 90, seen


def test_bad_inputs(folder: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["analyze", str(tmp_path / "missing.png")])
    assert result.exit_code == 2 and "no such file" in result.stderr
    result = CliRunner().invoke(app, ["analyze", str(folder / IMAGES[0]), "-t", "no_such_task"])
    assert result.exit_code == 1 and "no task 'no_such_task'" in result.stderr
    result = CliRunner().invoke(app, ["analyze", str(folder / IMAGES[0]), "-t", "quality", "-o", "nope=1"])
    assert result.exit_code == 1 and "nope" in result.stderr
    result = CliRunner().invoke(app, ["analyze", str(folder), "--output", str(tmp_path / "x.xlsx")])
    assert result.exit_code == 2 and ".jsonl or .csv" in result.stderr
    with pytest.raises(ValueError, match="takes video"):
        resolve_task("classify", "image", {})


def test_watch_analyses_new_files(tmp_path: Path) -> None:
    watched = tmp_path / "watched"
    watched.mkdir()
    shutil.copy(MEDIA / "image" / IMAGES[1], watched / "old.png")  # there before: skipped
    out = tmp_path / "watch.jsonl"
    box: dict = {}

    def run() -> None:
        args = ["watch", str(watched), "-t", "quality", "--interval", "0.1", "--max-files", "2", "--timeout", "60"]
        box["result"] = CliRunner().invoke(app, [*args, "--output", str(out)])

    thread = threading.Thread(target=run)
    thread.start()
    time.sleep(0.5)
    shutil.copy(MEDIA / "image" / IMAGES[0], watched / "new1.png")
    time.sleep(0.3)
    shutil.copy(MEDIA / "image" / IMAGES[2], watched / "new2.png")
    thread.join(90)
    result = box["result"]
    assert result.exit_code == 0, result.output
    assert sorted(Path(r["input"]).name for r in iter_rows(out)) == ["new1.png", "new2.png"]
    assert "analysed 2 files" in result.stderr and "new1.png: " in result.stdout
