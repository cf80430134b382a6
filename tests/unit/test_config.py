"""Settings come from MEDIALENS_* variables, and docs/configuration.md lists every one of them."""

from __future__ import annotations

from pathlib import Path

from medialens.config import Settings
from tests.support import REPO


def test_every_setting_is_documented() -> None:
    doc = (REPO / "docs" / "configuration.md").read_text()
    missing = [name for name in Settings.model_fields if f"`MEDIALENS_{name.upper()}`" not in doc]
    assert not missing, f"add these to docs/configuration.md: {missing}"


def test_environment_overrides_and_derived_paths(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MEDIALENS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MEDIALENS_ALLOW_PRIVATE_URLS", "true")
    monkeypatch.setenv("MEDIALENS_IMAGE_MAX_BYTES", "1234")
    s = Settings()
    assert s.allow_private_urls is True and s.image_max_bytes == 1234
    assert s.resolved_database_url == f"sqlite:///{tmp_path / 'medialens.db'}"
    assert s.resolved_model_dir == tmp_path / "models"
    assert s.scratch_dir == tmp_path / "blobs" / "tmp" and s.scratch_dir.is_dir()
    assert Settings(workers=3).worker_count == 3 and Settings(workers=0).worker_count >= 1
