"""fingerprints.views: how many views each stored frame holds

Rows written before this revision hold six views per frame (full, mirrored, 90 % crop and its mirror, 80 % crop
and its mirror); the server default keeps them readable (``Fingerprint.from_bytes`` picks the views it uses).

Revision ID: 0006_fingerprint_views
Revises: 0005_twelvelabs
Create Date: 2026-11-29 12:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_fingerprint_views"
down_revision = "0005_twelvelabs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("fingerprints") as batch:
        batch.add_column(sa.Column("views", sa.Integer(), nullable=False, server_default="6"))


def downgrade() -> None:
    with op.batch_alter_table("fingerprints") as batch:
        batch.drop_column("views")
