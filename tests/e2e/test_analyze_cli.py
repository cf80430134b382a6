"""`medialens analyze --server` against a live server: a folder batch (images and a video) through the client,
credentials from the environment, a results file; and a wrong token refused."""

from __future__ import annotations

import shutil
from pathlib import Path

from typer.testing import CliRunner

from medialens.analyze_cli import iter_rows
from medialens.cli import app
from tests.conftest import MEDIA
from tests.support import LiveServer


def test_batch_on_a_server(server: LiveServer, credentials: tuple[str, str], tmp_path: Path) -> None:
    folder = tmp_path / "batch"
    folder.mkdir()
    for name in ("skimage_cat_chelsea.png", "skimage_motorcycle.png"):
        shutil.copy(MEDIA / "image" / name, folder / name)
    shutil.copy(MEDIA / "video" / "intel_bottles.mp4", folder / "clip.mp4")
    out = tmp_path / "tags.jsonl"
    env = {"MEDIALENS_CREDENTIALS": ":".join(credentials)}
    args = ["analyze", str(folder), "-t", "tags", "-o", "tag_top_k=3", "--server", server.base_url]
    args += ["--output", str(out)]
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    assert "3/3" in result.stderr and "analysed 3 files" in result.stderr and "3 ok, 0 failed" in result.stderr
    rows = {Path(r["input"]).name: r for r in iter_rows(out)}
    assert rows["skimage_cat_chelsea.png"]["task"] == "image_tags"
    assert len(rows["skimage_cat_chelsea.png"]["result"]["tags"]) == 3
    assert "cat" in {t["name"] for t in rows["skimage_cat_chelsea.png"]["result"]["tags"]}
    assert rows["clip.mp4"]["task"] == "video_classify" and rows["clip.mp4"]["result"]["classes"]

    bad = CliRunner().invoke(
        app, ["analyze", str(folder / "clip.mp4"), "--server", server.base_url, "--credentials", "nobody:wrong"]
    )
    assert bad.exit_code != 0 and "unauthorized" in (bad.stderr + str(bad.exception))
