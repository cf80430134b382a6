"""Loaded models shared by the tasks of one process: each is loaded once, not per job."""

from __future__ import annotations

import threading
import time
from typing import Any

from medialens.analyses.niqe import NiqeModel
from medialens.config import Settings
from medialens.models.installed import model_files

_lock = threading.Lock()
_niqe: dict[str, NiqeModel] = {}
_load_seconds: dict[str, float] = {}


def niqe_model(settings: Settings) -> NiqeModel:
    """The NIQE pristine-scene model from the installed ``niqe`` parameters."""
    path = model_files("niqe", settings) / "niqe_image_params.mat"
    with _lock:
        if str(path) not in _niqe:
            started = time.perf_counter()
            _niqe[str(path)] = NiqeModel.from_mat(path)
            _load_seconds["niqe"] = time.perf_counter() - started
        return _niqe[str(path)]


def cache_stats() -> dict[str, Any]:
    """Load times of the models kept here, in the loader's ``cache_stats`` format (for metrics)."""
    with _lock:
        return {"load_seconds": dict(_load_seconds), "loaded": sorted(_load_seconds)}
