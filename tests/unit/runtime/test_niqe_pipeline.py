"""NIQE loads through the one loader like every model: cached once, timed for /metrics, and scoring as NiqeModel."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from medialens.analyses.niqe import NiqeModel
from medialens.config import Settings
from medialens.models import loader
from medialens.models.errors import ModelNotInstalledError
from medialens.models.pipelines.niqe import MODEL_FILE, NiqePipeline
from tests.support import ensure_models


@pytest.fixture(scope="module")
def niqe_settings() -> Settings:
    return Settings(model_dir=ensure_models("niqe"), model_threads=1)


def _textured(h: int, w: int) -> np.ndarray:
    return cv2.GaussianBlur(np.random.default_rng(3).uniform(0, 255, (h, w)), (0, 0), 1.0)


def test_niqe_is_a_pipeline_of_the_loader(niqe_settings: Settings) -> None:
    pipe = loader.get_pipeline("niqe", niqe_settings)
    assert isinstance(pipe, NiqePipeline)
    assert loader.get_pipeline("niqe", niqe_settings) is pipe  # loaded once, then cached
    assert "niqe" in loader.loaded_models()
    reference = NiqeModel.from_mat(niqe_settings.resolved_model_dir / "niqe" / MODEL_FILE)
    np.testing.assert_array_equal(pipe.model.mu, reference.mu)
    np.testing.assert_array_equal(pipe.model.cov, reference.cov)


def test_niqe_load_time_is_in_the_loader_stats(niqe_settings: Settings) -> None:
    loader.get_pipeline("niqe", niqe_settings)
    (stats,) = [s for s in loader.cache_stats().values() if "niqe" in s["loaded"]]
    assert stats["load_seconds"]["niqe"] > 0
    assert stats["misses"] == 1


def test_niqe_pipeline_scores_like_the_model(niqe_settings: Settings) -> None:
    pipe = loader.get_pipeline("niqe", niqe_settings)
    grey = _textured(240, 320)
    assert pipe(grey) == pipe.model.score(grey)
    flat = np.full((200, 200), 128.0)
    assert pipe.run_batch([grey, flat]) == [pipe.model.score(grey), math.inf]


def test_niqe_not_installed_says_how_to_pull(tmp_path) -> None:
    with pytest.raises(ModelNotInstalledError, match="niqe"):
        loader.get_pipeline("niqe", Settings(model_dir=tmp_path / "empty"))
