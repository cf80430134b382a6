"""Concrete pipelines, one module per model family; each class registers itself with ``@register_pipeline``.

On the first lookup every module of this package is imported (modules import their heavy runtimes — dlib,
ctranslate2, litert — inside methods, so this stays cheap).
"""

from __future__ import annotations

import importlib
import pkgutil

from medialens.models.pipeline import Pipeline

_PIPELINES: dict[str, type[Pipeline]] = {}
_scanned = False


def register_pipeline(cls: type[Pipeline]) -> type[Pipeline]:
    _PIPELINES[cls.model_name] = cls
    return cls


def pipeline_class(model_name: str) -> type[Pipeline]:
    """The Pipeline class for a model; KeyError when no pipeline is written for it."""
    global _scanned
    if model_name not in _PIPELINES and not _scanned:
        for mod in pkgutil.iter_modules(__path__):
            importlib.import_module(f"{__name__}.{mod.name}")
        _scanned = True
    return _PIPELINES[model_name]
