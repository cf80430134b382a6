"""job results: a JSON column (was JSON text); video_quality results get the neutral key names

Readers get the result as data, not a string to parse. While the column is still text, every stored result is
made valid JSON (a blank one becomes NULL, text that is not JSON is kept as a JSON string) and video_quality
results take the names the analysis now returns; then the column's type changes (PostgreSQL casts each value,
SQLite copies the table). The downgrade reverses both and writes results back as the compact strings the old
code wrote.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 09:30:00.000000
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# video_quality's result keys: the old (PAI) name -> the neutral name the analysis returns now
RENAMED = {"video_score": "score", "avg_fps": "fps", "duration": "duration_s", "single_img": "static_similarity"}
RENAMED_TASK = "video_quality"
CHUNK = 500

_jobs = sa.table("jobs", sa.column("id", sa.Integer), sa.column("task", sa.String), sa.column("result", sa.Text))


def upgrade() -> None:
    _rewrite(_upgraded)
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.alter_column(
            "result",
            existing_type=sa.Text(),
            type_=sa.JSON(none_as_null=True),
            existing_nullable=True,
            postgresql_using="result::json",
        )


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.alter_column(
            "result",
            existing_type=sa.JSON(none_as_null=True),
            type_=sa.Text(),
            existing_nullable=True,
            postgresql_using="result::text",
        )
    _rewrite(_downgraded)


def _upgraded(task: str, text: str) -> str | None:
    """The JSON text to store for an old result: unchanged unless it needs fixing or renaming."""
    try:
        value = json.loads(text)
    except ValueError:
        return _dumps(text) if text.strip() else None  # a blank result is no result; other text is kept
    if value is None:
        return None
    if task == RENAMED_TASK and isinstance(value, dict):
        return _dumps(_rename(value, RENAMED))
    return text


def _downgraded(task: str, text: str) -> str | None:
    """The string the old code expects: compact JSON with the old names; kept text is given back as it was."""
    try:
        value = json.loads(text)
    except ValueError:  # not written through the JSON type: leave it as it is
        return text
    if value is None:
        return None
    if isinstance(value, str):  # results are objects: a string is text the upgrade could not parse
        return value
    if task == RENAMED_TASK and isinstance(value, dict):
        value = _rename(value, {new: old for old, new in RENAMED.items()})
    return _dumps(value)


def _rename(result: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """``result`` with keys renamed in place (order kept); a key whose new name is already taken stays."""
    out: dict[str, Any] = {}
    for key, value in result.items():
        new = names.get(key, key)
        out[new if new == key or new not in result else key] = value
    return out


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _rewrite(change: Callable[[str, str], str | None]) -> None:
    """Apply ``change(task, text)`` to every stored result, in chunks by id; writes only what changed."""
    conn = op.get_bind()
    last = None
    while True:
        q = sa.select(_jobs.c.id, _jobs.c.task, _jobs.c.result).where(_jobs.c.result.is_not(None))
        if last is not None:
            q = q.where(_jobs.c.id > last)
        rows = conn.execute(q.order_by(_jobs.c.id).limit(CHUNK)).all()
        if not rows:
            return
        for job_id, task, text in rows:
            new = change(task, text)
            if new != text:
                conn.execute(sa.update(_jobs).where(_jobs.c.id == job_id).values(result=new))
        last = rows[-1][0]
