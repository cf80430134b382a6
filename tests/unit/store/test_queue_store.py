"""EAS queue items on SQLite and PostgreSQL: indexes per queue that are never reused, the move of finished
requests to the sink (once, whoever settles), reads by request id, tags and start, and the watch window."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from medialens.config import Settings
from medialens.core import Core, Media
from medialens.core.queues import Queues
from medialens.store import jobs as job_store
from medialens.store import queues as queue_store
from medialens.store.db import Database
from medialens.store.migrate import current_revisions, downgrade, upgrade
from medialens.store.queue_tables import QueueItem
from medialens.store.tables import JobState, utcnow
from medialens.tasks.options import TaskOptions


def _previous_revision() -> str:
    """The revision 0008_eas_queue follows (whatever the migrations are re-chained to)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    import medialens.store.migrations as migrations

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(migrations.__path__[0])))
    return str(ScriptDirectory.from_config(cfg).get_revision("0008_eas_queue").down_revision)


def test_migration_up_down_up(blank_db: Database) -> None:
    tables = {"eas_queue_items", "eas_queue_counters"}
    before = _previous_revision()
    upgrade(blank_db.engine, before)
    assert not tables & set(sa.inspect(blank_db.engine).get_table_names())
    upgrade(blank_db.engine, "0008_eas_queue")
    assert "0008_eas_queue" in current_revisions(blank_db.engine)
    assert tables <= set(sa.inspect(blank_db.engine).get_table_names())
    downgrade(blank_db.engine, before)
    assert not tables & set(sa.inspect(blank_db.engine).get_table_names())


def test_claims_migration_up_down(blank_db: Database) -> None:
    def columns() -> set[str]:
        return {c["name"] for c in sa.inspect(blank_db.engine).get_columns("eas_queue_items")}

    upgrade(blank_db.engine, "0009_hubfix_queue_claims")
    assert {"consumer", "claimed_until"} <= columns()
    downgrade(blank_db.engine, "0008_eas_queue")
    assert not {"consumer", "claimed_until"} & columns() and "job_id" in columns()


def _queues(db: Database, tmp_path) -> Queues:
    return Queues(Core(Settings(data_dir=tmp_path), db, None))


def test_indexes_grow_per_queue_and_are_never_reused(db: Database, tmp_path) -> None:
    q = _queues(db, tmp_path)
    assert [q.put("a/sink", b"x", {})[0] for _ in range(3)] == [1, 2, 3]
    assert q.put("b/sink", b"x", {})[0] == 1
    assert q.truncate("a/sink", 4) == 3
    assert q.put("a/sink", b"x", {})[0] == 4
    attrs = q.attributes("a/sink")
    assert attrs["stream.length"] == "1" and attrs["stream.lastEntry"] == "4" and attrs["meta.type"] == "sink"


def test_a_finished_request_moves_to_the_sink_once(db: Database, tmp_path) -> None:
    q = _queues(db, tmp_path)
    index, request_id = q.submit(
        "svc", "image_quality", b"{}", {"t": "1"}, Media(url="http://x"), TaskOptions(), {"model": "m"}
    )
    refused_index, refused_id = q.refuse("svc", b"bad", {}, "the request body is not valid JSON", {"error_code": 400})
    assert (index, refused_index) == (1, 2)
    assert q.settle("svc") == 1  # the refused one; the job has not run
    (job_id,) = job_store.pending_job_ids(db)
    assert q.search("svc", index) == {"ConsumerId": "", "IsPending": False, "WaitCount": 0}
    assert job_store.claim_job(db, job_id, "w:1:0", lease_s=60)
    assert q.search("svc", index) == {"ConsumerId": "w:1:0", "IsPending": True, "WaitCount": 0}
    assert job_store.finish_job(db, job_id, "w:1:0", state=JobState.COMPLETED, message="success", result={"score": 1})
    (item,) = queue_store.finished_inputs(db, "svc")
    assert q.settle("svc") == 1
    assert queue_store.move(db, item, "svc/sink", {}) is None  # another process's late try moves nothing
    assert q.attributes("svc")["stream.length"] == "0"
    refused, done = q.read("svc/sink", length=10)
    assert (refused.request_id, refused.job, refused.message) == (
        refused_id,
        None,
        "the request body is not valid JSON",
    )
    assert done.request_id == request_id and done.tags == {"t": "1", "requestId": request_id}
    assert done.job is not None and done.job.state == JobState.COMPLETED and done.params == {"model": "m"}
    assert [e.index for e in q.read("svc/sink", request_id=request_id)] == [done.index]
    assert [e.index for e in q.read("svc/sink", tags={"t": "1"}, length=5)] == [done.index]
    assert q.read("svc/sink", start=done.index + 1) == []


def test_get_waits_for_an_item_and_watch_keeps_its_window(db: Database, tmp_path) -> None:
    q = _queues(db, tmp_path)

    async def scenario() -> tuple[list, list[int]]:
        waiting = asyncio.create_task(q.get("w/sink", request_id=None, timeout_s=5, auto_delete=True))
        await asyncio.sleep(0.3)
        await asyncio.to_thread(q.put, "w/sink", b"late", {})
        got = await waiting
        for i in range(3):
            await asyncio.to_thread(q.put, "w/sink", str(i).encode(), {})
        seen: list[int] = []
        stream = q.watch("w/sink", consumer="a", start=0, window=2)
        seen.append((await anext(stream)).index)
        seen.append((await anext(stream)).index)
        third = asyncio.create_task(anext(stream))
        await asyncio.sleep(0.5)
        assert not third.done()  # two sent and not committed: the window is full
        q.commit("w/sink", [seen[0]])
        seen.append((await asyncio.wait_for(third, 5)).index)
        await stream.aclose()
        return got, seen

    got, seen = asyncio.run(scenario())
    assert [e.data for e in got] == [b"late"]
    assert seen == [2, 3, 4]
    assert q.attributes("w/sink")["stream.length"] == "2"  # the ones not committed stay


def test_watch_delivers_each_item_to_one_watcher_until_it_is_committed(db: Database, tmp_path) -> None:
    """Two watchers share a queue; one that leaves without committing has its items delivered again."""
    q = _queues(db, tmp_path)
    first, second, third = (q.put("s/sink", str(i).encode(), {})[0] for i in range(3))

    async def scenario() -> tuple[list[int], list[int], list[int]]:
        a = q.watch("s/sink", consumer="a", window=2)
        b = q.watch("s/sink", consumer="b", window=5)
        got_a = [(await anext(a)).index, (await anext(a)).index]
        got_b = [(await asyncio.wait_for(anext(b), 5)).index]  # a holds the first two
        assert q.search("s/sink", first) == {"ConsumerId": "a", "IsPending": True, "WaitCount": 0}
        q.commit("s/sink", [got_a[0]])
        await a.aclose()  # leaves with the second sent and not committed: it is released
        assert q.search("s/sink", second) == {"ConsumerId": "", "IsPending": False, "WaitCount": 0}
        again = [(await asyncio.wait_for(anext(b), 5)).index]
        await b.aclose()
        return got_a, got_b, again

    got_a, got_b, again = asyncio.run(scenario())
    assert got_a == [first, second] and got_b == [third] and again == [second]
    # the commit dropped the first (never delivered again); the others wait for their commit
    assert [e.index for e in q.read("s/sink", length=5)] == [second, third]
    assert q.search("s/sink", first) is None
    assert q.search("s/sink", third)["WaitCount"] == 1


def test_a_lapsed_claim_is_delivered_again(db: Database, tmp_path) -> None:
    """A watcher whose process died never released its claim: once the lease has passed, another gets it."""
    q = _queues(db, tmp_path)
    index, _ = q.put("d/sink", b"x", {})
    (held,) = queue_store.claim(db, "d/sink", "dead", start=0, limit=1, lease_s=30)
    assert held[0].idx == index and queue_store.claim(db, "d/sink", "alive", start=0, limit=5, lease_s=30) == []
    with db.session() as s:  # 31 s later: the dead watcher never renewed it
        s.execute(sa.update(QueueItem).values(claimed_until=utcnow() - timedelta(seconds=1)))
    (got,) = queue_store.claim(db, "d/sink", "alive", start=0, limit=5, lease_s=30)
    assert got[0].idx == index and queue_store.claim(db, "d/sink", "other", start=0, limit=5, lease_s=30) == []


def test_removing_an_input_item_withdraws_its_request(db: Database, tmp_path) -> None:
    """Delete, commit or truncate of a queued request cancels its job: nothing of it reaches the sink."""
    q = _queues(db, tmp_path)
    made = [
        q.submit("svc", "image_quality", b"{}", {}, Media(url="http://x"), TaskOptions(), {"model": "m"})[0]
        for _ in range(3)
    ]
    q.delete("svc", [made[0]])
    q.commit("svc", [made[1]])
    q.truncate("svc", made[2] + 1)
    assert job_store.pending_job_ids(db) == []
    assert q.settle("svc") == 0 and q.read("svc/sink", length=5) == []
