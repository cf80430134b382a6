"""VOD: AccessKeys, seen nonces, the media library, AI jobs, the fingerprint and face libraries

Revision ID: 0004_vod
Revises: 0002
Create Date: 2026-11-29 09:50:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_vod"
down_revision = "0003"
branch_labels = None
depends_on = None

_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_app = sa.ForeignKey("apps.app_id", ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "access_keys",
        sa.Column("key_id", sa.String(64), primary_key=True),
        sa.Column("app_id", sa.String(64), _app, nullable=False),
        sa.Column("secret_enc", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_access_keys_app_id", "access_keys", ["app_id"])
    op.create_table(
        "seen_nonces",
        sa.Column("nonce", sa.String(200), primary_key=True),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_seen_nonces_seen_at", "seen_nonces", ["seen_at"])
    op.create_table(
        "media",
        sa.Column("media_id", sa.String(64), primary_key=True),
        sa.Column("app_id", sa.String(64), sa.ForeignKey("apps.app_id", ondelete="CASCADE"), nullable=False),
        sa.Column("title", sa.String(400), nullable=False),
        sa.Column("source_url", sa.Text(), nullable=False),
        sa.Column("blob_key", sa.Text(), nullable=False),
        sa.Column("cover_key", sa.Text(), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("fps", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_media_app_created", "media", ["app_id", "created_at"])
    op.create_table(
        "ai_jobs",
        sa.Column("ai_job_id", sa.String(64), primary_key=True),
        sa.Column("app_id", sa.String(64), sa.ForeignKey("apps.app_id", ondelete="CASCADE"), nullable=False),
        sa.Column("media_id", sa.String(64), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("job_id", _id, sa.ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("user_data", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_ai_jobs_media_id", "ai_jobs", ["media_id"])
    op.create_index("ix_ai_jobs_job_id", "ai_jobs", ["job_id"])
    op.create_index("ix_ai_jobs_app_media", "ai_jobs", ["app_id", "media_id"])
    op.create_table(
        "fingerprints",
        sa.Column("app_id", sa.String(64), sa.ForeignKey("apps.app_id", ondelete="CASCADE"), primary_key=True),
        sa.Column("media_id", sa.String(64), primary_key=True),
        sa.Column("fps", sa.Float(), nullable=False),
        sa.Column("dim", sa.Integer(), nullable=False),
        sa.Column("vectors", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "face_library",
        sa.Column("id", _id, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "message_callbacks",
        sa.Column("app_id", sa.String(64), sa.ForeignKey("apps.app_id", ondelete="CASCADE"), primary_key=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("event_types", sa.Text(), nullable=False),
        sa.Column("auth_key", sa.String(200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "callback_events",
        sa.Column("id", _id, primary_key=True, autoincrement=True),
        sa.Column("app_id", sa.String(64), sa.ForeignKey("apps.app_id", ondelete="CASCADE"), nullable=False),
        sa.Column("ai_job_id", sa.String(64), nullable=False, unique=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_callback_events_state_next", "callback_events", ["state", "next_at"])
    op.create_table(
        "ai_templates",
        sa.Column("template_id", sa.String(64), primary_key=True),
        sa.Column("app_id", sa.String(64), sa.ForeignKey("apps.app_id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("config", sa.Text(), nullable=False),
        sa.Column("is_default", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("modified_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_ai_templates_app_id", "ai_templates", ["app_id"])
    op.create_table(
        "ai_image_infos",
        sa.Column("info_id", sa.String(64), primary_key=True),
        sa.Column("app_id", sa.String(64), sa.ForeignKey("apps.app_id", ondelete="CASCADE"), nullable=False),
        sa.Column("media_id", sa.String(64), nullable=False),
        sa.Column("ai_job_id", sa.String(64), nullable=False),
        sa.Column("blob_key", sa.Text(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("time_s", sa.Float(), nullable=False),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_ai_image_infos_media_id", "ai_image_infos", ["media_id"])
    op.create_table(
        "dynamic_images",
        sa.Column("image_id", sa.String(64), primary_key=True),
        sa.Column("app_id", sa.String(64), sa.ForeignKey("apps.app_id", ondelete="CASCADE"), nullable=False),
        sa.Column("media_id", sa.String(64), nullable=False),
        sa.Column("ai_job_id", sa.String(64), nullable=False),
        sa.Column("blob_key", sa.Text(), nullable=False),
        sa.Column("fps", sa.Float(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("file_size", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_dynamic_images_media_id", "dynamic_images", ["media_id"])


def downgrade() -> None:
    for table in (
        "dynamic_images",
        "ai_image_infos",
        "ai_templates",
        "callback_events",
        "message_callbacks",
        "face_library",
        "fingerprints",
        "ai_jobs",
        "media",
        "seen_nonces",
        "access_keys",
    ):
        op.drop_table(table)
