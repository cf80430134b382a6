from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from medialens.config import Settings
from medialens.models import installed, loader, pipelines
from medialens.models.errors import ModelNotInstalledError, UnknownModelError
from medialens.models.registry import get_spec
from tests.unit.runtime.helpers import MatMulPipeline, expected, matmul_relu_onnx

# Catalog names whose single ONNX file we replace by the test model; their pipelines are swapped for ours.
A, B = "silero-vad", "open-nsfw"


def install(settings: Settings, name: str) -> Path:
    """Write an install ``installed.model_files`` accepts: the spec's file plus a manifest with its size."""
    spec = get_spec(name)
    (rel,) = spec.files
    target = settings.resolved_model_dir / name
    matmul_relu_onnx(target / rel)
    data = (target / rel).read_bytes()
    manifest = {
        "format": 1,
        "name": name,
        "files": {rel: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}},
    }
    (target / installed.MANIFEST).write_text(json.dumps(manifest))
    return target


class SpecPipeline(MatMulPipeline):
    def __init__(self, model_dir: Path, settings: Settings) -> None:
        (rel,) = get_spec(model_dir.name).files
        super().__init__(model_dir, settings, model_file=rel)


@pytest.fixture
def test_pipelines(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[SpecPipeline]]:
    made: dict[str, list[SpecPipeline]] = {A: [], B: []}

    def make_class(name: str) -> type[SpecPipeline]:
        if name not in made:
            raise KeyError(name)

        class Recorded(SpecPipeline):
            model_name = name

            def __init__(self, model_dir: Path, settings: Settings) -> None:
                super().__init__(model_dir, settings)
                made[name].append(self)

        return Recorded

    monkeypatch.setattr(pipelines, "pipeline_class", make_class)
    return made


def test_missing_model_raises_model_not_installed(settings: Settings) -> None:
    with pytest.raises(ModelNotInstalledError) as info:
        loader.get_pipeline(A, settings)
    assert info.value.name == A and "medialens models pull" in str(info.value)
    with pytest.raises(UnknownModelError):
        loader.get_pipeline("no-such-model", settings)
    assert loader.loaded_models() == []


def test_broken_install_is_not_installed(settings: Settings, test_pipelines: dict) -> None:
    target = install(settings, A)
    (target / get_spec(A).files[0]).write_bytes(b"truncated")
    with pytest.raises(ModelNotInstalledError, match="manifest says"):
        loader.get_pipeline(A, settings)
    assert test_pipelines[A] == []


def test_get_pipeline_loads_once_and_caches(settings: Settings, test_pipelines: dict) -> None:
    install(settings, A)
    p = loader.get_pipeline(A, settings)
    assert loader.get_pipeline(A, settings) is p and len(test_pipelines[A]) == 1
    assert p.model_dir == settings.resolved_model_dir / A
    np.testing.assert_allclose(p([1.0] * 16), expected([1.0] * 16), rtol=1e-4, atol=1e-5)
    assert loader.loaded_models() == [A]
    (stats,) = loader.cache_stats().values()
    assert stats["misses"] == 1 and stats["hits"] == 1 and stats["load_seconds"][A] > 0


def test_unload_all_closes_the_pipelines(settings: Settings, test_pipelines: dict) -> None:
    install(settings, A)
    p = loader.get_pipeline(A, settings)
    loader.unload_all()
    assert test_pipelines[A][0].closed and loader.loaded_models() == []
    again = loader.get_pipeline(A, settings)  # a fresh load
    assert again is not p and len(test_pipelines[A]) == 2


def test_lru_eviction_closes_the_evicted_model(tmp_path: Path, test_pipelines: dict) -> None:
    settings = Settings(data_dir=tmp_path / "d", model_cache_size=1, model_threads=1)
    install(settings, A)
    install(settings, B)
    loader.get_pipeline(A, settings)
    loader.get_pipeline(B, settings)  # cache holds one model: A goes
    assert test_pipelines[A][0].closed
    assert loader.loaded_models() == [B]
    np.testing.assert_allclose(loader.get_pipeline(A, settings)([1.0] * 16), expected([1.0] * 16), rtol=1e-4, atol=1e-5)
    assert test_pipelines[B][0].closed and loader.loaded_models() == [A]


def test_model_removed_after_load_stays_served_until_evicted(settings: Settings, test_pipelines: dict) -> None:
    target = install(settings, A)
    p = loader.get_pipeline(A, settings)
    shutil.rmtree(target)
    assert loader.get_pipeline(A, settings) is p
    loader.unload_all()
    with pytest.raises(ModelNotInstalledError):
        loader.get_pipeline(A, settings)


def test_installed_model_without_pipeline(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    install(settings, A)

    def no_class(name: str) -> type:
        raise KeyError(name)

    monkeypatch.setattr(pipelines, "pipeline_class", no_class)
    with pytest.raises(loader.NoPipelineError, match=A):
        loader.get_pipeline(A, settings)


def test_separate_model_dirs_have_separate_caches(tmp_path: Path, test_pipelines: dict) -> None:
    s1 = Settings(data_dir=tmp_path / "one", model_threads=1)
    s2 = Settings(data_dir=tmp_path / "two", model_threads=1)
    install(s1, A)
    install(s2, A)
    assert loader.get_pipeline(A, s1) is not loader.get_pipeline(A, s2)
    assert len(loader.cache_stats()) == 2 and loader.loaded_models() == [A]
