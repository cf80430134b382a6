"""A small thread-safe cache whose entries expire and whose size is bounded.

Hot lookups (credentials, model presence) skip the database and the disk on every request, while a deleted app or a
removed model is noticed within ``ttl_s``. Keys come from clients (unknown app ids, service names, AccessKey ids,
misses included), so the cache holds at most ``max_items``: the oldest entries go first.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

DEFAULT_MAX_ITEMS = 10_000


class TTLCache:
    def __init__(self, ttl_s: float, max_items: int = DEFAULT_MAX_ITEMS) -> None:
        self.ttl_s, self.max_items = ttl_s, max_items
        self._items: OrderedDict[Any, tuple[float, Any]] = OrderedDict()  # oldest first
        self._lock = threading.Lock()

    def get(self, key: Any, compute: Callable[[], Any]) -> Any:
        now = time.monotonic()
        with self._lock:
            hit = self._items.get(key)
            if hit is not None and now - hit[0] < self.ttl_s:
                return hit[1]
        value = compute()
        with self._lock:
            self._items[key] = (now, value)
            self._items.move_to_end(key)
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._items)
