"""Revision 0002 on SQLite and PostgreSQL: results written as strings at revision 0001 come back as objects, with
video_quality's old key names replaced, nothing lost; the downgrade gives back the old strings."""

from __future__ import annotations

import json

import sqlalchemy as sa

from medialens.store import apps, jobs
from medialens.store.db import Database
from medialens.store.migrate import current_revisions, downgrade, upgrade
from medialens.store.tables import JobState, utcnow

OLD_VQ = '{"width":426,"height":240,"video_score":3.61,"avg_fps":25.0,"duration":10.0,"single_img":0.42}'
NEW_VQ = {"width": 426, "height": 240, "score": 3.61, "fps": 25.0, "duration_s": 10.0, "static_similarity": 0.42}
TAGS = '{"tags":[{"name":"猫","score":0.9}],"caption":"Café ☕ — ok"}'
OTHER = '{"video_score":1,"duration":2}'  # another task's keys are its own, whatever their names
GARBAGE = "not json ü"

# The tables as revision 0001 made them (result is text there).
_apps = sa.table(
    "apps", sa.column("app_id"), sa.column("name"), sa.column("token"), sa.column("created_at", sa.DateTime)
)
_jobs = sa.table(
    "jobs",
    sa.column("id", sa.Integer),
    sa.column("app_id"),
    sa.column("task"),
    sa.column("inputs", sa.JSON),
    sa.column("state", sa.Integer),
    sa.column("message"),
    sa.column("result", sa.Text),
    sa.column("attempts", sa.Integer),
    sa.column("create_time", sa.DateTime),
)


def _write_at_0001(db: Database, rows: list[tuple[str, int, str | None]]) -> list[int]:
    upgrade(db.engine, "0001")
    now = utcnow()
    with db.engine.begin() as conn:
        conn.execute(sa.insert(_apps).values(app_id="a1", name="old", token="t", created_at=now))
        conn.execute(
            sa.insert(_jobs),
            [
                dict(app_id="a1", task=task, inputs={"url": "http://x/ü"}, state=state, message="", result=result)
                | dict(attempts=1, create_time=now)
                for task, state, result in rows
            ],
        )
        return list(conn.scalars(sa.select(_jobs.c.id).order_by(_jobs.c.id)))


def _raw(db: Database) -> list[str | None]:
    """Results as stored, in id order (strings at revision 0001)."""
    with db.engine.connect() as conn:
        return list(conn.scalars(sa.select(_jobs.c.result).order_by(_jobs.c.id)))


def _result_type(db: Database) -> sa.types.TypeEngine:
    return next(c["type"] for c in sa.inspect(db.engine).get_columns("jobs") if c["name"] == "result")


ROWS = [
    ("video_quality", JobState.COMPLETED, OLD_VQ),
    ("image_tags", JobState.COMPLETED, TAGS),
    ("video_classify", JobState.COMPLETED, OTHER),
    ("video_quality", JobState.FAILED, None),
    ("image_tags", JobState.COMPLETED, ""),
    ("image_tags", JobState.COMPLETED, GARBAGE),
]


def test_old_result_strings_become_objects_and_come_back_on_downgrade(blank_db: Database) -> None:
    db = blank_db
    ids = _write_at_0001(db, ROWS)
    assert not isinstance(_result_type(db), sa.JSON)

    upgrade(db.engine, "0002")  # this revision's test: later revisions (0004_vod) come on top
    assert current_revisions(db.engine) == {"0002"} and isinstance(_result_type(db), sa.JSON)
    got = [jobs.get_job(db, i) for i in ids]
    assert got[0].result == NEW_VQ and list(got[0].result) == list(NEW_VQ)  # renamed in place, order kept
    assert got[1].result == json.loads(TAGS) and got[1].result["tags"][0]["name"] == "猫"
    assert got[2].result == {"video_score": 1, "duration": 2}  # other tasks unchanged
    assert got[3].result is None and got[4].result is None  # no result, and a blank one: SQL NULL
    assert got[5].result == GARBAGE  # text that was not JSON is kept, as a JSON string
    assert all(j.inputs == {"url": "http://x/ü"} for j in got)
    with db.engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(_jobs).where(_jobs.c.result.is_(None))) == 2

    downgrade(db.engine, "0001")
    assert not isinstance(_result_type(db), sa.JSON)
    assert _raw(db) == [OLD_VQ, TAGS, OTHER, None, None, GARBAGE]

    upgrade(db.engine)  # and up again: the same objects
    assert [jobs.get_job(db, i).result for i in ids] == [
        NEW_VQ,
        json.loads(TAGS),
        json.loads(OTHER),
        None,
        None,
        GARBAGE,
    ]


def test_every_row_is_converted_past_the_first_chunk(blank_db: Database) -> None:
    ids = _write_at_0001(blank_db, [("video_quality", JobState.COMPLETED, OLD_VQ)] * 1201)
    upgrade(blank_db.engine)
    with blank_db.session() as s:
        results = s.scalars(sa.text("SELECT result FROM jobs ORDER BY id").columns(sa.column("result", sa.JSON)))
        assert list(results) == [NEW_VQ] * len(ids)


def test_results_written_at_the_newest_revision_downgrade_to_the_old_strings(db: Database) -> None:
    app_id = apps.create_app(db, "new").app_id
    _, ids = jobs.create_jobs(db, app_id, [jobs.NewJob(t, {}) for t in ("video_quality", "image_tags", "x")])
    outcomes = [(JobState.COMPLETED, NEW_VQ), (JobState.COMPLETED, {"caption": "Café ☕"}), (JobState.FAILED, None)]
    for job_id, (state, result) in zip(ids, outcomes, strict=True):
        jobs.claim_job(db, job_id, "w", 30)
        assert jobs.finish_job(db, job_id, "w", state=state, message="m", result=result)
    assert [jobs.get_job(db, i).result for i in ids] == [NEW_VQ, {"caption": "Café ☕"}, None]
    downgrade(db.engine, "0001")
    assert _raw(db) == [OLD_VQ, '{"caption":"Café ☕"}', None]
