from __future__ import annotations

from pathlib import Path

import pytest

from medialens.config import Settings
from medialens.models import loader
from tests.unit.runtime.helpers import MODEL_FILE, MatMulPipeline, matmul_relu_onnx


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", model_threads=1)


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    path = tmp_path / "test-matmul"
    matmul_relu_onnx(path / MODEL_FILE)
    return path


@pytest.fixture
def pipeline(model_dir: Path, settings: Settings) -> MatMulPipeline:
    return MatMulPipeline(model_dir, settings)


@pytest.fixture(autouse=True)
def _fresh_loader():
    """No pipeline cached before or after: another module in the same test process may have loaded models."""
    loader.unload_all()
    yield
    loader.unload_all()
