"""Micro-batching: concurrent requests to one model share a ``forward`` call.

``MicroBatcher.submit(item)`` runs ``preprocess`` in the caller's thread, queues the preprocessed item and blocks;
one dispatcher thread per batcher takes the first queued item, gathers more until the batch holds
``max_batch_size`` items or ``max_wait_ms`` has passed since it took the first, calls ``pipeline.forward`` once
and hands every caller its own raw output; ``postprocess`` then runs back in the caller's thread. A failing
``forward`` raises its exception in every caller of that batch and the dispatcher carries on with the next.

The wait bounds the latency a lone request pays (``max_wait_ms``, 5 ms by default); a pipeline whose
``max_batch_size`` is 1 skips the wait and only gains the serialisation of its calls.

One dispatcher runs one ``forward`` at a time, so on a CPU the batcher pays off only when that one call keeps
every core busy (``model_threads`` 0) or when per-call overhead dominates; ``workers=N`` runs N dispatchers on
the same queue (N batches in flight) for CPU sessions limited to a few threads each.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from medialens.config import Settings
from medialens.models.pipeline import Pipeline

log = logging.getLogger(__name__)

In = TypeVar("In")
Pre = TypeVar("Pre")
Out = TypeVar("Out")

_STOP = object()


class BatcherClosedError(RuntimeError):
    """``submit`` on a batcher that was closed (its model was unloaded): get a fresh one from the loader."""


@dataclass
class _Request:
    pre: Any
    future: Future[Any] = field(default_factory=Future)


class MicroBatcher(Generic[In, Pre, Out]):
    """Gathers concurrent ``submit`` calls on one pipeline into batched ``forward`` calls (see module doc)."""

    def __init__(
        self, pipeline: Pipeline[In, Pre, Out], *, max_batch_size: int = 8, max_wait_ms: float = 5.0, workers: int = 1
    ) -> None:
        self.pipeline = pipeline
        self.max_batch_size = max(1, min(max_batch_size, pipeline.max_batch_size))
        self.max_wait_s = max(0.0, max_wait_ms) / 1000.0
        self.forward_calls = 0
        """Number of ``forward`` calls made so far."""
        self.items_processed = 0
        """Items that went through ``forward`` (successfully or not)."""
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._state = threading.Lock()
        self._counts = threading.Lock()
        self._closed = False
        name = getattr(pipeline, "model_name", type(pipeline).__name__)
        self._threads = [
            threading.Thread(target=self._run, name=f"medialens-batcher-{name}-{i}", daemon=True)
            for i in range(max(1, workers))
        ]
        for thread in self._threads:
            thread.start()

    @classmethod
    def from_settings(
        cls, pipeline: Pipeline[In, Pre, Out], settings: Settings, *, workers: int = 1
    ) -> MicroBatcher[In, Pre, Out]:
        return cls(
            pipeline, max_batch_size=settings.batch_max_size, max_wait_ms=settings.batch_max_wait_ms, workers=workers
        )

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def mean_batch_size(self) -> float:
        return self.items_processed / self.forward_calls if self.forward_calls else 0.0

    # --- callers -----------------------------------------------------------------------------------------------

    def submit(self, item: In) -> Out:
        """Preprocess here, forward in a shared batch, postprocess here; blocks until done."""
        pre = self._enqueue(item)
        raw = pre.future.result()
        return self.pipeline.postprocess(raw, item, pre.pre)

    def submit_many(self, items: Sequence[In]) -> list[Out]:
        """Several items of one caller at once (they may share batches with other callers' items)."""
        requests = [self._enqueue(item) for item in items]
        return [
            self.pipeline.postprocess(r.future.result(), item, r.pre) for r, item in zip(requests, items, strict=True)
        ]

    def _enqueue(self, item: In) -> _Request:
        pre = self.pipeline.preprocess(item)
        request = _Request(pre)
        with self._state:  # no request may be queued behind the stop marker
            if self._closed:
                raise BatcherClosedError(f"batcher for {type(self.pipeline).__name__} is closed")
            self._queue.put(request)
        return request

    def close(self, timeout: float | None = None) -> None:
        """Refuse new items, finish the queued ones, and stop the dispatcher thread."""
        with self._state:
            if not self._closed:
                self._closed = True
                for _ in self._threads:  # one stop marker per dispatcher, behind every queued request
                    self._queue.put(_STOP)
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout)

    def __enter__(self) -> MicroBatcher[In, Pre, Out]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- dispatcher --------------------------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch, stop = self._gather(first)
            self._forward(batch)
            if stop:
                return

    def _gather(self, first: _Request) -> tuple[list[_Request], bool]:
        batch = [first]
        deadline = time.monotonic() + self.max_wait_s
        while len(batch) < self.max_batch_size:
            remaining = deadline - time.monotonic()
            try:
                nxt = self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if nxt is _STOP:
                return batch, True
            batch.append(nxt)
        return batch, False

    def _forward(self, batch: list[_Request]) -> None:
        with self._counts:
            self.forward_calls += 1
            self.items_processed += len(batch)
        try:
            raws = self.pipeline.forward([r.pre for r in batch])
            if len(raws) != len(batch):
                raise RuntimeError(f"forward returned {len(raws)} outputs for a batch of {len(batch)}")
        except BaseException as err:  # delivered to every caller; the dispatcher lives on
            log.debug("forward failed for a batch of %d: %r", len(batch), err)
            for r in batch:
                r.future.set_exception(err)
            return
        for r, raw in zip(batch, raws, strict=True):
            r.future.set_result(raw)
