"""The client talks to a server over HTTP only: it imports no server layer (store, jobs, core, protocols), just the
task result types it hands back; the playground's Python side imports nothing of medialens at all."""

from __future__ import annotations

from pathlib import Path

from tests.unit.test_layers import _medialens_imports

SRC = Path(__file__).resolve().parents[2] / "src" / "medialens"


def test_the_client_imports_only_itself_and_the_task_types() -> None:
    allowed = ("medialens.client", "medialens.tasks")
    wrong = [
        f"{path.name}: {m}"
        for path in sorted((SRC / "client").glob("*.py"))
        for m in _medialens_imports(path)
        if not any(m == a or m.startswith(a + ".") for a in allowed)
    ]
    assert wrong == []


def test_the_web_package_imports_no_medialens_module() -> None:
    assert _medialens_imports(SRC / "web" / "__init__.py") == []
