"""The one way analyses get a model: ``get_pipeline(name, settings)`` (or ``get_batcher`` to share batches).

One process-wide :class:`ModelCache` per model directory holds the loaded pipelines (sized and timed by the
settings of the first caller for that directory, with a background sweeper for idle models). A model is
loaded from ``installed.model_files`` (which raises :class:`ModelNotInstalledError` with a pull hint when it is
not deployed) by the class ``pipelines.pipeline_class`` names. Each loaded pipeline gets at most one
:class:`MicroBatcher`, closed (after finishing its queued items) when the pipeline is evicted.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from medialens.config import Settings, get_settings
from medialens.models import installed, pipelines
from medialens.models.batching import BatcherClosedError, MicroBatcher
from medialens.models.cache import ModelCache
from medialens.models.errors import ModelError
from medialens.models.pipeline import Pipeline

_lock = threading.Lock()
_caches: dict[Path, ModelCache] = {}
_batchers: dict[tuple[Path, str], MicroBatcher[Any, Any, Any]] = {}


class NoPipelineError(ModelError, LookupError):
    """The model is installed but no pipeline class is written for it."""

    def __init__(self, name: str) -> None:
        super().__init__(f"model {name!r} has no pipeline in medialens.models.pipelines")
        self.name = name


def _key(settings: Settings) -> Path:
    return settings.resolved_model_dir.expanduser().resolve()


def _load(settings: Settings, name: str) -> Pipeline:
    path = installed.model_files(name, settings)
    try:
        cls = pipelines.pipeline_class(name)
    except KeyError:
        raise NoPipelineError(name) from None
    return cls(path, settings)


def _cache(settings: Settings) -> tuple[Path, ModelCache]:
    key = _key(settings)
    with _lock:
        cache = _caches.get(key)
        if cache is None:

            def on_evict(name: str, pipeline: Pipeline) -> None:
                with _lock:
                    batcher = _batchers.get((key, name))
                    if batcher is not None and batcher.pipeline is pipeline:
                        del _batchers[(key, name)]
                    else:
                        batcher = None
                if batcher is not None:
                    batcher.close()  # finishes its queued items before the pipeline closes

            cache = ModelCache.from_settings(lambda name: _load(settings, name), settings, on_evict=on_evict)
            cache.start()
            _caches[key] = cache
    return key, cache


def get_pipeline(name: str, settings: Settings | None = None) -> Pipeline:
    """The loaded pipeline of ``name`` (loaded on first use, then cached).

    Raises ModelNotInstalledError (with a pull hint) when the model is not deployed, UnknownModelError for a
    name the registry does not know, NoPipelineError when no pipeline is written for it.
    """
    s = settings or get_settings()
    return _cache(s)[1].get(name)


def get_batcher(name: str, settings: Settings | None = None) -> MicroBatcher[Any, Any, Any]:
    """The micro-batcher of ``name``'s loaded pipeline (one per pipeline; loads the model when needed)."""
    s = settings or get_settings()
    key, cache = _cache(s)
    while True:
        pipeline = cache.get(name)
        with _lock:
            if cache.peek(name) is not pipeline:
                continue  # evicted in between (its eviction hook already ran): load again
            batcher = _batchers.get((key, name))
            if batcher is not None and not batcher.closed and batcher.pipeline is pipeline:
                return batcher
            stale, batcher = batcher, MicroBatcher.from_settings(pipeline, s)
            _batchers[(key, name)] = batcher
        if stale is not None:
            stale.close()
        return batcher


def submit(name: str, item: Any, settings: Settings | None = None) -> Any:
    """``get_batcher(name).submit(item)``, retried once if the model was unloaded in between."""
    try:
        return get_batcher(name, settings).submit(item)
    except BatcherClosedError:
        return get_batcher(name, settings).submit(item)


def loaded_models() -> list[str]:
    """Names of the models loaded in this process (across model directories), sorted."""
    with _lock:
        caches = list(_caches.values())
    return sorted({name for cache in caches for name in cache.names()})


def cache_stats() -> dict[str, dict[str, Any]]:
    """Per model directory: loaded models, hits, misses, evictions and load seconds (for metrics)."""
    with _lock:
        caches = dict(_caches)
    return {str(key): cache.stats() for key, cache in caches.items()}


def unload_all() -> None:
    """Close every batcher and pipeline and forget the caches (tests, shutdown, settings changes)."""
    with _lock:
        caches = list(_caches.values())
        _caches.clear()
    for cache in caches:
        cache.stop()
        cache.clear()
    with _lock:
        leftovers = list(_batchers.values())
        _batchers.clear()
    for batcher in leftovers:
        batcher.close()
