"""NIQE as a loadable model: the installed pristine parameters (``niqe_image_params.mat``) behind the one loader.

NIQE has no network, but its pristine MVG is model data like any other weights: loading it through
``loader.get_pipeline("niqe")`` caches it once per process, times the load for ``/metrics`` and unloads it with
the rest. The maths lives in :mod:`medialens.analyses.niqe`; the pipeline is its three steps on one grey image
(patch features → distance to the pristine MVG → score). ``model`` is the :class:`NiqeModel` itself, for the
quality analyses that pool features over several frames before taking the distance.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np

from medialens.analyses.niqe import NiqeModel, niqe_features
from medialens.config import Settings
from medialens.models.pipeline import Pipeline
from medialens.models.pipelines import register_pipeline

MODEL_FILE = "niqe_image_params.mat"


@register_pipeline
class NiqePipeline(Pipeline[np.ndarray, np.ndarray, float]):
    """2-D grey image (0-255 scale) → NIQE score (lower is more natural; ``inf`` when nothing has structure)."""

    model_name: ClassVar[str] = "niqe"

    def __init__(self, model_dir: Path, settings: Settings) -> None:
        super().__init__(model_dir, settings)
        self.model = NiqeModel.from_mat(model_dir / MODEL_FILE)

    def preprocess(self, item: np.ndarray) -> np.ndarray:
        return niqe_features(item)

    def forward(self, batch: Sequence[np.ndarray]) -> list[float]:
        return [self.model.distance(feats) for feats in batch]

    def postprocess(self, raw: float, item: np.ndarray, pre: np.ndarray) -> float:
        return float(raw)
