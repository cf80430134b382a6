from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from medialens.config import Settings
from medialens.models.batching import BatcherClosedError, MicroBatcher
from tests.unit.runtime.helpers import MatMulPipeline, expected


def item(i: int) -> list[float]:
    return [float((i * 7 + k) % 11 - 5) for k in range(16)]


def concurrent_submits(batcher: MicroBatcher, ids: list[int]) -> list[object]:
    barrier = threading.Barrier(len(ids))

    def call(i: int) -> object:
        barrier.wait()
        try:
            return batcher.submit(item(i))
        except Exception as err:
            return err

    with ThreadPoolExecutor(len(ids)) as pool:
        return list(pool.map(call, ids))


def test_concurrent_submits_share_forward_calls_and_get_their_own_results(pipeline: MatMulPipeline) -> None:
    unbatched = [pipeline(item(i)) for i in range(16)]
    pipeline.batch_sizes.clear()
    with MicroBatcher(pipeline, max_batch_size=8, max_wait_ms=100) as batcher:
        results = concurrent_submits(batcher, list(range(16)))
    for i, out in enumerate(results):
        np.testing.assert_allclose(out, unbatched[i], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(out, expected(item(i)), rtol=1e-4, atol=1e-5)
    assert sum(pipeline.batch_sizes) == 16
    assert len(pipeline.batch_sizes) <= 4, pipeline.batch_sizes  # 16 requests, batches of up to 8
    assert max(pipeline.batch_sizes) <= 8
    assert batcher.forward_calls == len(pipeline.batch_sizes) and batcher.items_processed == 16


def test_pre_and_post_run_in_callers_threads_forward_in_the_dispatcher(pipeline: MatMulPipeline) -> None:
    with MicroBatcher(pipeline, max_batch_size=4, max_wait_ms=20) as batcher:
        concurrent_submits(batcher, [1, 2, 3])
        (dispatcher,) = (t.ident for t in batcher._threads)
    assert pipeline.threads["forward"] == {dispatcher}
    assert dispatcher not in pipeline.threads["pre"] | pipeline.threads["post"]
    assert len(pipeline.threads["pre"]) == 3 and pipeline.threads["pre"] == pipeline.threads["post"]


def test_batch_size_is_capped_by_the_pipeline_and_settings(pipeline: MatMulPipeline) -> None:
    pipeline.max_batch_size = 3  # type: ignore[misc]
    with MicroBatcher.from_settings(pipeline, Settings(batch_max_size=8, batch_max_wait_ms=50)) as batcher:
        assert batcher.max_batch_size == 3
        results = concurrent_submits(batcher, list(range(10)))
    assert max(pipeline.batch_sizes) <= 3 and sum(pipeline.batch_sizes) == 10
    for i, out in enumerate(results):
        np.testing.assert_allclose(out, expected(item(i)), rtol=1e-4, atol=1e-5)
    with MicroBatcher.from_settings(pipeline, Settings(batch_max_size=2)) as batcher:
        assert batcher.max_batch_size == 2


def test_lone_request_waits_at_most_max_wait(pipeline: MatMulPipeline) -> None:
    with MicroBatcher(pipeline, max_batch_size=8, max_wait_ms=150) as batcher:
        start = time.perf_counter()
        out = batcher.submit(item(3))
        elapsed = time.perf_counter() - start
    np.testing.assert_allclose(out, expected(item(3)), rtol=1e-4, atol=1e-5)
    assert 0.14 <= elapsed < 0.6, elapsed
    assert pipeline.batch_sizes == [1]


def test_full_batch_is_dispatched_without_waiting(pipeline: MatMulPipeline) -> None:
    with MicroBatcher(pipeline, max_batch_size=4, max_wait_ms=5000) as batcher:
        start = time.perf_counter()
        concurrent_submits(batcher, [0, 1, 2, 3])
        elapsed = time.perf_counter() - start
    assert pipeline.batch_sizes == [4]
    assert elapsed < 2.0, elapsed


def test_forward_error_reaches_every_caller_and_batcher_keeps_working(pipeline: MatMulPipeline) -> None:
    pipeline.fail_when = lambda batch: any(float(pre[0]) == 99.0 for pre in batch)
    bad = [99.0] * 16
    with MicroBatcher(pipeline, max_batch_size=4, max_wait_ms=3000) as batcher:
        barrier = threading.Barrier(4)

        def call(i: int) -> object:
            barrier.wait()
            try:
                return batcher.submit(bad if i == 0 else item(i))
            except ValueError as err:
                return err

        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(call, range(4)))
        assert pipeline.batch_sizes == [4]
        assert all(isinstance(r, ValueError) for r in results), results
        batcher.max_wait_s = 0.01  # lone requests from here on
        out = batcher.submit(item(5))  # the dispatcher survived
        np.testing.assert_allclose(out, expected(item(5)), rtol=1e-4, atol=1e-5)
        with pytest.raises(ValueError, match="on purpose"):
            batcher.submit(bad)
        assert batcher.submit_many([item(1), item(2)])[1] == pytest.approx(expected(item(2)), rel=1e-4, abs=1e-5)


def test_wrong_number_of_outputs_is_an_error_for_the_callers(pipeline: MatMulPipeline) -> None:
    pipeline.forward = lambda batch: []  # type: ignore[method-assign]
    with MicroBatcher(pipeline, max_batch_size=2, max_wait_ms=1) as batcher, pytest.raises(RuntimeError, match="0"):
        batcher.submit(item(1))


def test_close_finishes_queued_items_then_refuses_new_ones(pipeline: MatMulPipeline) -> None:
    batcher = MicroBatcher(pipeline, max_batch_size=8, max_wait_ms=2000)
    queued = threading.Event()
    enqueue = batcher._enqueue

    def enqueue_and_tell(it: object) -> object:
        request = enqueue(it)
        queued.set()
        return request

    batcher._enqueue = enqueue_and_tell  # type: ignore[method-assign]
    result: list[object] = []
    caller = threading.Thread(target=lambda: result.append(batcher.submit(item(4))))
    caller.start()
    assert queued.wait(2)
    time.sleep(0.05)  # the dispatcher now holds the item and waits for more
    start = time.perf_counter()
    batcher.close()
    caller.join(2)
    assert time.perf_counter() - start < 1.0  # close cut the 2 s wait short
    np.testing.assert_allclose(result[0], expected(item(4)), rtol=1e-4, atol=1e-5)
    assert batcher.closed and not any(t.is_alive() for t in batcher._threads)
    with pytest.raises(BatcherClosedError):
        batcher.submit(item(1))
    batcher.close()  # idempotent


def test_submit_many_matches_run_batch(pipeline: MatMulPipeline) -> None:
    items = [item(i) for i in range(11)]
    direct = pipeline.run_batch(items)
    with MicroBatcher(pipeline, max_batch_size=8, max_wait_ms=20) as batcher:
        via = batcher.submit_many(items)
    for a, b in zip(direct, via, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_several_workers_share_one_queue(pipeline: MatMulPipeline) -> None:
    with MicroBatcher(pipeline, max_batch_size=4, max_wait_ms=20, workers=2) as batcher:
        results = concurrent_submits(batcher, list(range(12)))
        threads = batcher._threads
    for i, out in enumerate(results):
        np.testing.assert_allclose(out, expected(item(i)), rtol=1e-4, atol=1e-5)
    assert sum(pipeline.batch_sizes) == 12 and max(pipeline.batch_sizes) <= 4
    assert len(threads) == 2 and not any(t.is_alive() for t in threads)
