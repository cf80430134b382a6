"""Run an iterator in a background thread a few items ahead of its consumer.

Decoding a video and analysing its frames then overlap: FFmpeg decodes (without the GIL) while the models work on
the frames already taken. The queue is bounded, so at most ``depth`` frames wait in memory; an exception from the
iterator reaches the consumer at the point where its next item would have; when the consumer stops early (closes
the generator, or drops it), the thread stops and the iterator is closed in it (a decoder's file is closed there).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")

_POLL_S = 0.05
"""How often a producer blocked on a full queue looks whether its consumer has gone."""
_ITEM, _END, _ERROR = range(3)


def prefetched(items: Iterator[T], depth: int, *, name: str = "prefetch") -> Iterator[T]:
    """``items``, produced by a thread started on the first ``next``, at most ``depth`` ahead of the consumer."""
    if depth < 1:
        raise ValueError("depth must be at least 1")
    return _consume(items, depth, name)


def _consume(items: Iterator[T], depth: int, name: str) -> Iterator[T]:
    slots: queue.Queue[tuple[int, object]] = queue.Queue(maxsize=depth)
    stop = threading.Event()
    thread = threading.Thread(target=_produce, args=(items, slots, stop), name=name, daemon=True)
    thread.start()
    try:
        while True:
            kind, value = slots.get()
            if kind == _ITEM:
                yield value  # type: ignore[misc]
            elif kind == _ERROR:
                raise value  # type: ignore[misc]
            else:
                return
    finally:
        stop.set()
        thread.join()


def _produce(items: Iterator[T], slots: queue.Queue[tuple[int, object]], stop: threading.Event) -> None:
    try:
        for item in items:
            if not _put(slots, (_ITEM, item), stop):
                return
        _put(slots, (_END, None), stop)
    except BaseException as err:  # handed to the consumer, which raises it
        _put(slots, (_ERROR, err), stop)
    finally:
        close = getattr(items, "close", None)
        if close is not None:
            close()


def _put(slots: queue.Queue[tuple[int, object]], entry: tuple[int, object], stop: threading.Event) -> bool:
    """Put ``entry`` unless the consumer has gone; False when it has."""
    while not stop.is_set():
        try:
            slots.put(entry, timeout=_POLL_S)
            return True
        except queue.Full:
            continue
    return False
