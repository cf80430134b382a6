"""Loaded pipelines kept in memory: lazy loads, one load per model at a time, LRU and idle-TTL eviction.

A model is loaded on first use through a factory (``loader`` passes one that reads the model directory). Two
threads asking for the same unloaded model share one load: the first loads, the others wait on that model's
lock; different models load concurrently. Beyond ``max_size`` models the least recently used is evicted, and a
model unused for ``idle_ttl_s`` seconds is evicted by the sweep that runs on every access (and by an optional
background sweeper, :meth:`ModelCache.start`). Evicted pipelines are closed outside the cache's lock.

A pipeline handed out before its eviction stays usable by whoever holds it until ``close()`` frees its runtime;
eviction only happens to models that nobody has asked for in a while (LRU tail or idle), so in practice the
holder is done with it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from medialens.config import Settings
from medialens.models.pipeline import Pipeline

log = logging.getLogger(__name__)

Factory = Callable[[str], Pipeline]
EvictHook = Callable[[str, Pipeline], None]


@dataclass
class _Entry:
    pipeline: Pipeline
    last_used: float


class ModelCache:
    """Thread-safe name -> loaded :class:`Pipeline` cache.

    ``max_size <= 0`` means no size limit and ``idle_ttl_s <= 0`` no idle eviction. ``on_evict(name, pipeline)``
    runs for every evicted pipeline before its ``close()`` (the loader closes the model's batcher there).
    ``clock`` is injectable for tests; it must be monotonic.
    """

    def __init__(
        self,
        factory: Factory,
        *,
        max_size: int = 16,
        idle_ttl_s: float = 1800.0,
        on_evict: EvictHook | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._factory = factory
        self.max_size = max_size
        self.idle_ttl_s = idle_ttl_s
        self._on_evict = on_evict
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, _Entry] = OrderedDict()  # least recently used first
        self._load_locks: dict[str, threading.Lock] = {}
        self.load_seconds: dict[str, float] = {}
        """Wall time of the latest load of each model (factory call), in seconds."""
        self.hits = 0
        self.misses = 0
        self.evictions = 0
        self._sweeper: threading.Thread | None = None
        self._stop = threading.Event()

    @classmethod
    def from_settings(cls, factory: Factory, settings: Settings, *, on_evict: EvictHook | None = None) -> ModelCache:
        return cls(factory, max_size=settings.model_cache_size, idle_ttl_s=settings.model_idle_ttl_s, on_evict=on_evict)

    # --- lookups -----------------------------------------------------------------------------------------------

    def get(self, name: str) -> Pipeline:
        """The loaded pipeline for ``name``, loading it (once, however many threads ask) when needed.

        The factory's exception propagates to the caller that ran it; threads that waited on that load then
        try again themselves.
        """
        with self._lock:
            expired = self._take_expired()
            hit = self._hit(name)
            load_lock = None if hit is not None else self._load_locks.setdefault(name, threading.Lock())
        self._close_all(expired)
        if hit is not None:
            return hit
        assert load_lock is not None
        with load_lock:
            with self._lock:
                hit = self._hit(name)  # loaded by the thread we waited for
                if hit is None:
                    self.misses += 1
            if hit is not None:
                return hit
            start = time.perf_counter()
            pipeline = self._factory(name)
            elapsed = time.perf_counter() - start
            with self._lock:
                self.load_seconds[name] = elapsed
                self._entries[name] = _Entry(pipeline, self._clock())
                self._entries.move_to_end(name)
                overflow = self._take_overflow()
        log.info("loaded model %s in %.3f s", name, elapsed)
        self._close_all(overflow)
        return pipeline

    def peek(self, name: str) -> Pipeline | None:
        """The pipeline if loaded, without loading, touching or counting."""
        with self._lock:
            entry = self._entries.get(name)
            return entry.pipeline if entry is not None else None

    def names(self) -> list[str]:
        """Loaded models, least recently used first."""
        with self._lock:
            return list(self._entries)

    def __contains__(self, name: object) -> bool:
        with self._lock:
            return name in self._entries

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def stats(self) -> dict[str, Any]:
        """Counters for metrics: loaded models, hits, misses (= loads), evictions and load times."""
        with self._lock:
            return {
                "loaded": list(self._entries),
                "hits": self.hits,
                "misses": self.misses,
                "evictions": self.evictions,
                "load_seconds": dict(self.load_seconds),
            }

    # --- eviction ----------------------------------------------------------------------------------------------

    def evict(self, name: str) -> bool:
        """Unload ``name`` now; False when it was not loaded."""
        with self._lock:
            entry = self._entries.pop(name, None)
            if entry is not None:
                self.evictions += 1
        if entry is None:
            return False
        self._close_all([(name, entry.pipeline)])
        return True

    def sweep(self) -> list[str]:
        """Evict models idle for longer than ``idle_ttl_s``; returns their names."""
        with self._lock:
            expired = self._take_expired()
        self._close_all(expired)
        return [name for name, _ in expired]

    def clear(self) -> None:
        """Evict everything (loads in flight still complete and are cached)."""
        with self._lock:
            gone = [(name, entry.pipeline) for name, entry in self._entries.items()]
            self._entries.clear()
            self.evictions += len(gone)
        self._close_all(gone)

    def start(self, interval_s: float | None = None) -> None:
        """Run :meth:`sweep` every ``interval_s`` (default: a quarter of the TTL, at most 60 s) in a daemon thread."""
        if self.idle_ttl_s <= 0:
            return
        with self._lock:
            if self._sweeper is not None and self._sweeper.is_alive():
                return
            interval = interval_s if interval_s is not None else min(self.idle_ttl_s / 4, 60.0)
            interval = max(interval, 0.001)
            self._stop.clear()
            self._sweeper = threading.Thread(
                target=self._sweep_loop, args=(interval,), name="medialens-model-sweeper", daemon=True
            )
            self._sweeper.start()

    def stop(self) -> None:
        """Stop the background sweeper (loaded models stay loaded)."""
        with self._lock:
            sweeper, self._sweeper = self._sweeper, None
        self._stop.set()
        if sweeper is not None and sweeper is not threading.current_thread():
            sweeper.join()

    # --- internals (``_take_*`` run under self._lock and return what to close outside it) ----------------------

    def _sweep_loop(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                self.sweep()
            except Exception:  # a failing close() must not end the sweeper
                log.exception("model cache sweep failed")

    def _hit(self, name: str) -> Pipeline | None:
        entry = self._entries.get(name)
        if entry is None:
            return None
        entry.last_used = self._clock()
        self._entries.move_to_end(name)
        self.hits += 1
        return entry.pipeline

    def _take_expired(self) -> list[tuple[str, Pipeline]]:
        if self.idle_ttl_s <= 0:
            return []
        cutoff = self._clock() - self.idle_ttl_s
        gone = [(name, e.pipeline) for name, e in self._entries.items() if e.last_used <= cutoff]
        for name, _ in gone:
            del self._entries[name]
        self.evictions += len(gone)
        return gone

    def _take_overflow(self) -> list[tuple[str, Pipeline]]:
        gone = []
        while 0 < self.max_size < len(self._entries):
            name, entry = self._entries.popitem(last=False)
            gone.append((name, entry.pipeline))
        self.evictions += len(gone)
        return gone

    def _close_all(self, gone: list[tuple[str, Pipeline]]) -> None:
        for name, pipeline in gone:
            log.info("unloading model %s", name)
            try:
                if self._on_evict is not None:
                    self._on_evict(name, pipeline)
            except Exception:
                log.exception("on_evict hook failed for %s", name)
            try:
                pipeline.close()
            except Exception:
                log.exception("closing model %s failed", name)
