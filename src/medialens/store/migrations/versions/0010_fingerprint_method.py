"""fingerprints.method: the descriptor recipe a stored fingerprint was made with

Fingerprints of different recipes are not comparable (another network or whitening puts them in another space).
Rows written before this revision were made with the float MobileNetV2; the server default names that recipe,
and a worker's library leaves such rows out of matching until their medium is fingerprinted again.

Revision ID: 0010_fingerprint_method
Revises: 0009_hubfix_queue_claims
Create Date: 2026-11-29 18:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_fingerprint_method"
down_revision = "0009_hubfix_queue_claims"
branch_labels = None
depends_on = None

FLOAT_RECIPE = "mobilenetv2-rmac-pca128-2fps-3views"


def upgrade() -> None:
    with op.batch_alter_table("fingerprints") as batch:
        batch.add_column(sa.Column("method", sa.String(64), nullable=False, server_default=FLOAT_RECIPE))


def downgrade() -> None:
    with op.batch_alter_table("fingerprints") as batch:
        batch.drop_column("method")
