"""video indexes (Twelve Labs protocol): api_keys, video_indexes, indexed_videos, classify_pages

Revision ID: 0005_twelvelabs
Revises: 0002
Create Date: 2026-11-29 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_twelvelabs"
down_revision = "0004_vod"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("app_id", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["app_id"], ["apps.app_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("key_hash"),
    )
    op.create_index("ix_api_keys_app_id", "api_keys", ["app_id"])
    op.create_table(
        "video_indexes",
        sa.Column("id", sa.String(24), nullable=False),
        sa.Column("app_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("engines", sa.JSON(), nullable=False),
        sa.Column("addons", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["app_id"], ["apps.app_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_video_indexes_app_id", "video_indexes", ["app_id"])
    op.create_table(
        "indexed_videos",
        sa.Column("id", sa.String(24), nullable=False),
        sa.Column("video_id", sa.String(24), nullable=False),
        sa.Column("index_id", sa.String(24), nullable=False),
        sa.Column("app_id", sa.String(64), nullable=False),
        sa.Column("job_id", _ID, nullable=True),
        sa.Column("filename", sa.String(500), nullable=False),
        sa.Column("source_url", sa.Text(), nullable=False),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("info", sa.JSON(), nullable=False),
        sa.Column("user_metadata", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["index_id"], ["video_indexes.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["app_id"], ["apps.app_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("video_id"),
    )
    op.create_index("ix_indexed_videos_index_id", "indexed_videos", ["index_id", "created_at"])
    op.create_table(
        "classify_pages",
        sa.Column("token", sa.String(64), nullable=False),
        sa.Column("app_id", sa.String(64), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("page", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["app_id"], ["apps.app_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token"),
    )
    op.create_index("ix_classify_pages_expires_at", "classify_pages", ["expires_at"])


def downgrade() -> None:
    op.drop_table("classify_pages")
    op.drop_table("indexed_videos")
    op.drop_table("video_indexes")
    op.drop_table("api_keys")
