from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from medialens.config import Settings
from medialens.models.cache import ModelCache
from tests.unit.runtime.helpers import MatMulPipeline, expected


class FakePipeline:
    """Stands in for a Pipeline where only identity and close() matter."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.closed = False

    def close(self) -> None:
        self.closed = True


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_lazy_load_happens_once_under_eight_concurrent_threads(model_dir: Path, settings: Settings) -> None:
    calls: list[str] = []
    lock = threading.Lock()

    def factory(name: str) -> MatMulPipeline:
        with lock:
            calls.append(name)
        time.sleep(0.1)  # a slow load: the other seven threads must wait for it, not start their own
        return MatMulPipeline(model_dir, settings)

    cache = ModelCache(factory, max_size=4, idle_ttl_s=0)
    assert cache.names() == []  # nothing loads before first use
    barrier = threading.Barrier(8)

    def use(i: int) -> np.ndarray:
        barrier.wait()
        return cache.get("m")([float(i)] * 16)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(use, range(8)))

    assert calls == ["m"]
    for i, out in enumerate(results):
        np.testing.assert_allclose(out, expected([float(i)] * 16), rtol=1e-4, atol=1e-5)
    stats = cache.stats()
    assert (stats["misses"], stats["hits"]) == (1, 7)
    assert stats["load_seconds"]["m"] >= 0.1
    assert cache.get("m") is cache.get("m")


def test_lru_evicts_least_recently_used_and_closes_it() -> None:
    evicted: list[str] = []
    cache = ModelCache(FakePipeline, max_size=2, idle_ttl_s=0, on_evict=lambda name, p: evicted.append(name))
    a, b = cache.get("a"), cache.get("b")
    cache.get("a")  # a is now the most recent: b goes first
    c = cache.get("c")
    assert evicted == ["b"] and b.closed and not a.closed
    assert cache.names() == ["a", "c"]
    b2 = cache.get("b")  # reloaded as a new object; a is the LRU now
    assert b2 is not b and evicted == ["b", "a"] and a.closed
    assert cache.names() == ["c", "b"] and not c.closed
    assert cache.stats()["evictions"] == 2
    assert cache.evict("c") and c.closed and not cache.evict("c")
    cache.clear()
    assert b2.closed and len(cache) == 0


def test_idle_ttl_evicts_on_access_and_on_sweep() -> None:
    clock = FakeClock()
    cache = ModelCache(FakePipeline, max_size=0, idle_ttl_s=10, clock=clock)
    a = cache.get("a")
    clock.now += 6
    b = cache.get("b")
    clock.now += 6  # a idle 12 s, b idle 6 s
    c = cache.get("c")  # the sweep on access evicts a
    assert a.closed and not b.closed and cache.names() == ["b", "c"]
    clock.now += 5
    assert cache.sweep() == ["b"] and b.closed
    clock.now += 1
    cache.get("c")  # use resets the idle clock
    clock.now += 9
    assert cache.sweep() == [] and not c.closed


def test_background_sweeper_unloads_idle_models() -> None:
    cache = ModelCache(FakePipeline, max_size=0, idle_ttl_s=0.05)
    cache.start(interval_s=0.01)
    try:
        a = cache.get("a")
        deadline = time.monotonic() + 3
        while "a" in cache and time.monotonic() < deadline:
            time.sleep(0.01)
        assert "a" not in cache and a.closed
    finally:
        cache.stop()
    cache.stop()  # idempotent


def test_different_models_load_concurrently() -> None:
    both_inside = threading.Barrier(2, timeout=3)  # breaks if the second load waits for the first

    def factory(name: str) -> FakePipeline:
        both_inside.wait()
        return FakePipeline(name)

    cache = ModelCache(factory, max_size=4, idle_ttl_s=0)
    with ThreadPoolExecutor(2) as pool:
        a, b = pool.map(cache.get, ["a", "b"])
    assert (a.name, b.name) == ("a", "b")
    assert set(cache.stats()["load_seconds"]) == {"a", "b"}


def test_failed_load_propagates_and_is_retried() -> None:
    attempts: list[str] = []

    def factory(name: str) -> FakePipeline:
        attempts.append(name)
        if len(attempts) == 1:
            raise OSError("disk hiccup")
        return FakePipeline(name)

    cache = ModelCache(factory, max_size=2, idle_ttl_s=0)
    with pytest.raises(OSError, match="hiccup"):
        cache.get("a")
    assert "a" not in cache
    assert cache.get("a").name == "a" and attempts == ["a", "a"]


def test_close_errors_do_not_break_eviction() -> None:
    class Bad(FakePipeline):
        def close(self) -> None:
            raise RuntimeError("cannot close")

    cache = ModelCache(Bad, max_size=1, idle_ttl_s=0)
    cache.get("a")
    cache.get("b")  # evicting a raises inside close(): logged, not raised
    assert cache.names() == ["b"]


def test_from_settings_uses_cache_size_and_ttl() -> None:
    cache = ModelCache.from_settings(FakePipeline, Settings(model_cache_size=3, model_idle_ttl_s=42.0))
    assert (cache.max_size, cache.idle_ttl_s) == (3, 42.0)
