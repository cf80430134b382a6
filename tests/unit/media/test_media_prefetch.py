"""The background producer: order, bounded look-ahead, errors handed on, and stopping with its consumer."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from medialens.media.errors import DecodeError
from medialens.media.prefetch import prefetched


class Source:
    """An endless (or failing) iterator that records how far it got and whether it was closed, and in which thread."""

    def __init__(self, fail_after: int | None = None) -> None:
        self.produced = 0
        self.closed_in: str | None = None
        self.fail_after = fail_after

    def __iter__(self) -> Iterator[int]:
        return self.run()

    def run(self) -> Iterator[int]:
        try:
            while True:
                if self.fail_after is not None and self.produced >= self.fail_after:
                    raise DecodeError("video could not be decoded: broken off")
                self.produced += 1
                yield self.produced
        finally:
            self.closed_in = threading.current_thread().name


def _alive(name: str) -> bool:
    return any(t.name == name for t in threading.enumerate())


def test_items_arrive_in_order_and_the_thread_ends() -> None:
    assert list(prefetched(iter(range(50)), 4, name="t-order")) == list(range(50))
    assert not _alive("t-order")


def test_an_error_reaches_the_consumer_after_the_items_before_it() -> None:
    source = Source(fail_after=3)
    got = []
    with pytest.raises(DecodeError, match="broken off"):
        for item in prefetched(iter(source), 2, name="t-error"):
            got.append(item)
    assert got == [1, 2, 3]
    assert not _alive("t-error") and source.closed_in == "t-error"


def test_closing_early_stops_the_producer_and_closes_its_iterator_there() -> None:
    source = Source()
    items = prefetched(iter(source), 3, name="t-close")
    assert [next(items), next(items)] == [1, 2]
    items.close()  # type: ignore[attr-defined]
    assert not _alive("t-close")
    assert source.closed_in == "t-close"
    assert source.produced <= 2 + 3 + 1  # bounded look-ahead: taken, queued, and one in hand


def test_a_dropped_consumer_stops_the_producer() -> None:
    source = Source()
    items = prefetched(iter(source), 2, name="t-drop")
    next(items)
    del items
    gc.collect()
    assert not _alive("t-drop") and source.closed_in == "t-drop"


def test_nothing_starts_until_the_first_item_is_asked_for() -> None:
    source = Source()
    items = prefetched(iter(source), 2, name="t-lazy")
    assert not _alive("t-lazy") and source.produced == 0
    items.close()  # type: ignore[attr-defined]


def test_depth_must_be_positive() -> None:
    with pytest.raises(ValueError):
        prefetched(iter(()), 0)
