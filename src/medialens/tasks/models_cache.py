"""Loaded models shared by the tasks of one process: each is loaded once, not per job."""

from __future__ import annotations

import threading

from medialens.analyses.niqe import NiqeModel
from medialens.config import Settings
from medialens.models.store import model_files

_lock = threading.Lock()
_niqe: dict[str, NiqeModel] = {}


def niqe_model(settings: Settings) -> NiqeModel:
    """The NIQE pristine-scene model from the installed ``niqe`` parameters."""
    path = model_files("niqe", settings) / "niqe_image_params.mat"
    with _lock:
        if str(path) not in _niqe:
            _niqe[str(path)] = NiqeModel.from_mat(path)
        return _niqe[str(path)]
