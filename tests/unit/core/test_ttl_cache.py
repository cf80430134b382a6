"""The credential cache: entries expire, and client-chosen keys cannot grow it without bound."""

from __future__ import annotations

import time

from medialens.core.ttl_cache import TTLCache


def test_hits_are_served_until_they_expire() -> None:
    cache, calls = TTLCache(ttl_s=0.2), []
    compute = lambda: calls.append(1) or len(calls)  # noqa: E731
    assert cache.get("k", compute) == 1 and cache.get("k", compute) == 1
    time.sleep(0.25)
    assert cache.get("k", compute) == 2


def test_size_is_bounded_oldest_first() -> None:
    cache = TTLCache(ttl_s=60, max_items=100)
    for i in range(1000):  # e.g. 1,000 unknown app ids: each miss (None) is cached
        cache.get(f"unknown-{i}", lambda: None)
    assert len(cache) == 100
    recomputed = []
    cache.get("unknown-0", lambda: recomputed.append(0))  # evicted long ago
    cache.get("unknown-999", lambda: recomputed.append(999))  # still there
    assert recomputed == [0]
