"""EAS queue items: the watcher that was sent an item and has not committed it (a claim with a lease)

Revision ID: 0009_hubfix_queue_claims
Revises: 0008_eas_queue
Create Date: 2026-11-29 15:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_hubfix_queue_claims"
down_revision = "0008_eas_queue"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("eas_queue_items") as batch:
        batch.add_column(sa.Column("consumer", sa.String(64), nullable=True))
        batch.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("eas_queue_items") as batch:
        batch.drop_column("claimed_until")
        batch.drop_column("consumer")
