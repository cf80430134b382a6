"""EAS queue service: queue items (input queues and sinks) and per-queue index counters

Revision ID: 0008_eas_queue
Revises: 0007_vod_media_status
Create Date: 2026-11-29 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_eas_queue"
down_revision = "0007_vod_media_status"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "eas_queue_items",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("queue", sa.String(140), nullable=False),
        sa.Column("idx", sa.BigInteger(), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=True),
        sa.Column("job_id", _ID, sa.ForeignKey("jobs.id", ondelete="SET NULL"), nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("queue", "idx", name="uq_eas_queue_items_queue_idx"),
    )
    op.create_index("ix_eas_queue_items_request_id", "eas_queue_items", ["request_id"])
    op.create_index("ix_eas_queue_items_job_id", "eas_queue_items", ["job_id"])
    op.create_table(
        "eas_queue_counters",
        sa.Column("queue", sa.String(140), primary_key=True),
        sa.Column("last_index", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("eas_queue_counters")
    op.drop_table("eas_queue_items")
