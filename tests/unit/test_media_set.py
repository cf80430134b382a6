"""The test media ship with the repository: a fresh clone tests itself, every file is credited, and the tests'
default settings never reach the model folder they share with `make serve`."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from medialens.config import Settings
from tests.conftest import LABELS, MEDIA, REPO, TEST_MODEL_DIR


def test_media_lives_in_the_repository() -> None:
    assert MEDIA == REPO / "tests" / "media"
    assert MEDIA.resolve().is_relative_to(REPO.resolve())


def test_every_record_is_here_byte_for_byte() -> None:
    records = json.loads((MEDIA / "labels.json").read_text(encoding="utf-8"))
    assert len(records) == len(LABELS) > 0
    for record in records:
        data = (MEDIA / record["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == record["sha256"], record["file"]
        assert len(data) == record["meta"]["bytes"], record["file"]


def test_every_file_has_a_record_and_a_credit() -> None:
    files = {p.relative_to(MEDIA).as_posix() for p in MEDIA.rglob("*") if p.is_file()}
    media = files - {"labels.json", "CREDITS.md"}
    assert media == set(LABELS), "a file without a labels.json record (or a record without its file)"
    credits = (MEDIA / "CREDITS.md").read_text(encoding="utf-8")
    for name, record in LABELS.items():
        row = next((line for line in credits.splitlines() if f"`{name}`" in line), "")
        assert record["source_repo"] in row and record["license"] in row, name


def test_no_test_or_bench_file_reads_the_old_shared_folder() -> None:
    old = ("../" + "shared", 'parent / "' + 'shared"')  # spelled apart so that this file does not match itself
    for path in [*(REPO / "tests").rglob("*.py"), *(REPO / "bench").rglob("*.py"), REPO / "Makefile"]:
        text = path.read_text(encoding="utf-8")
        assert not any(o in text for o in old), path


def test_default_settings_in_tests_stay_off_the_model_folder() -> None:
    """Tests share the model folder with `make serve`; a test's default Settings() must not write there."""
    default = Settings()
    assert default.resolved_model_dir != TEST_MODEL_DIR
    assert not default.data_dir.resolve().is_relative_to(Path.home() / ".local" / "share")
