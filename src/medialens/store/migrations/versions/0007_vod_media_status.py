"""media registered in the background (VOD RegisterMedia): media.status, media.register_job_id

Revision ID: 0007_vod_media_status
Revises: 0006_fingerprint_views
Create Date: 2026-11-29 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_vod_media_status"
down_revision = "0006_fingerprint_views"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("media") as batch:
        batch.add_column(sa.Column("status", sa.String(32), nullable=False, server_default="Normal"))
        batch.add_column(sa.Column("register_job_id", _ID, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("media") as batch:
        batch.drop_column("register_job_id")
        batch.drop_column("status")
