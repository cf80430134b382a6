"""The layering rule (DESIGN.md, "Layers"): a protocol imports the core, config and its own package, nothing else."""

from __future__ import annotations

import ast
from pathlib import Path

PROTOCOLS = Path(__file__).resolve().parents[2] / "src" / "medialens" / "protocols"
SHARED_PLUMBING = "medialens.protocols.http"  # HTTP helpers every protocol uses: no wire format, no core calls
ALLOWED = ("medialens.core", "medialens.config", SHARED_PLUMBING)


def _medialens_imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import"
            names.append(node.module or "")
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
    return [n for n in names if n == "medialens" or n.startswith("medialens.")]


def _allowed(module: str, own: str) -> bool:
    return any(module == a or module.startswith(a + ".") for a in (*ALLOWED, own))


def test_protocols_import_only_the_core_config_and_themselves() -> None:
    packages = [p for p in PROTOCOLS.iterdir() if p.is_dir() and (p / "__init__.py").is_file()]
    assert {p.name for p in packages} >= {"pai", "native"}
    wrong = []
    for package in packages:
        own = f"medialens.protocols.{package.name}"
        for path in sorted(package.rglob("*.py")):
            wrong += [f"{path.relative_to(PROTOCOLS)}: {m}" for m in _medialens_imports(path) if not _allowed(m, own)]
    assert wrong == []


def test_the_shared_plumbing_is_no_protocol_and_no_door() -> None:
    assert _medialens_imports(PROTOCOLS / "http.py") == []


def test_the_rule_catches_a_reach_past_the_core(tmp_path: Path) -> None:
    bad = tmp_path / "routes.py"
    bad.write_text("from medialens.store.tables import Job\nfrom medialens.protocols.pai import errors\n")
    found = [m for m in _medialens_imports(bad) if not _allowed(m, "medialens.protocols.native")]
    assert found == ["medialens.store.tables", "medialens.protocols.pai"]
