"""Tables of the VOD side: AccessKeys (secrets encrypted with the server key), seen request nonces, the media
library, AI jobs (a VOD job wraps one core job and keeps its UserData) and the per-account fingerprint library."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, DateTime, Float, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from medialens.store.tables import Base, IdType, utcnow


class AccessKey(Base):
    __tablename__ = "access_keys"

    key_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    app_id: Mapped[str] = mapped_column(String(64), ForeignKey("apps.app_id", ondelete="CASCADE"), index=True)
    # Fernet token of the secret under the server key (<data_dir>/server.key): HMACs need the secret itself.
    secret_enc: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SeenNonce(Base):
    __tablename__ = "seen_nonces"

    nonce: Mapped[str] = mapped_column(String(200), primary_key=True)  # "<key id>:<nonce>"
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class MediaItem(Base):
    __tablename__ = "media"

    media_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    app_id: Mapped[str] = mapped_column(String(64), ForeignKey("apps.app_id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(400), default="")
    source_url: Mapped[str] = mapped_column(Text, default="")
    blob_key: Mapped[str] = mapped_column(Text)  # the probed file, in the blob store
    cover_key: Mapped[str | None] = mapped_column(Text, nullable=True)
    duration_s: Mapped[float] = mapped_column(Float, default=0.0)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    width: Mapped[int] = mapped_column(Integer, default=0)
    height: Mapped[int] = mapped_column(Integer, default=0)
    fps: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # "Normal" once probed and stored; "Uploading" while a RegisterMedia job fetches it (its job: register_job_id,
    # whose failure reads as "UploadFail" with the job's message)
    status: Mapped[str] = mapped_column(String(32), default="Normal", server_default="Normal")
    register_job_id: Mapped[int | None] = mapped_column(IdType, nullable=True)

    __table_args__ = (Index("ix_media_app_created", "app_id", "created_at"),)


class AIJob(Base):
    __tablename__ = "ai_jobs"

    ai_job_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    app_id: Mapped[str] = mapped_column(String(64), ForeignKey("apps.app_id", ondelete="CASCADE"))
    media_id: Mapped[str] = mapped_column(String(64), index=True)
    type: Mapped[str] = mapped_column(String(64))
    job_id: Mapped[int] = mapped_column(IdType, ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    config: Mapped[dict] = mapped_column(JSON, default=dict)
    user_data: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (Index("ix_ai_jobs_app_media", "app_id", "media_id"),)


class Fingerprint(Base):
    __tablename__ = "fingerprints"

    app_id: Mapped[str] = mapped_column(String(64), ForeignKey("apps.app_id", ondelete="CASCADE"), primary_key=True)
    media_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    fps: Mapped[float] = mapped_column(Float)
    dim: Mapped[int] = mapped_column(Integer)
    views: Mapped[int] = mapped_column(Integer, server_default="6")  # per frame; rows before 0006 hold 6
    # the descriptor recipe (``analyses.fingerprint.METHOD``); rows before 0010 hold the float network's
    method: Mapped[str] = mapped_column(String(64), server_default="mobilenetv2-rmac-pca128-2fps-3views")
    vectors: Mapped[bytes] = mapped_column(LargeBinary)  # float16 frames x views x dim
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class FaceEntry(Base):
    __tablename__ = "face_library"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    embedding: Mapped[bytes] = mapped_column(LargeBinary)  # dlib's 128-d float32
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class MessageCallback(Base):
    __tablename__ = "message_callbacks"

    app_id: Mapped[str] = mapped_column(String(64), ForeignKey("apps.app_id", ondelete="CASCADE"), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    event_types: Mapped[str] = mapped_column(Text, default="ALL")
    auth_key: Mapped[str] = mapped_column(String(200), default="")  # empty: callbacks are not signed
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CallbackEvent(Base):
    """One event to POST: 0 pending (due at ``next_at``), 1 delivered, 2 given up; every try is counted."""

    __tablename__ = "callback_events"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    app_id: Mapped[str] = mapped_column(String(64), ForeignKey("apps.app_id", ondelete="CASCADE"))
    ai_job_id: Mapped[str] = mapped_column(String(64), unique=True)
    payload: Mapped[dict] = mapped_column(JSON)
    state: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (Index("ix_callback_events_state_next", "state", "next_at"),)


class AITemplate(Base):
    __tablename__ = "ai_templates"

    template_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    app_id: Mapped[str] = mapped_column(String(64), ForeignKey("apps.app_id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(64))
    config: Mapped[str] = mapped_column(Text, default="{}")
    is_default: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    modified_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AIImageInfo(Base):
    """One image an AIImage job chose (a cover candidate), kept in the blob store."""

    __tablename__ = "ai_image_infos"

    info_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    app_id: Mapped[str] = mapped_column(String(64), ForeignKey("apps.app_id", ondelete="CASCADE"))
    media_id: Mapped[str] = mapped_column(String(64), index=True)
    ai_job_id: Mapped[str] = mapped_column(String(64))
    blob_key: Mapped[str] = mapped_column(Text)
    score: Mapped[float] = mapped_column(Float)
    time_s: Mapped[float] = mapped_column(Float)
    format: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DynamicImage(Base):
    """An animated GIF an AI job cut from a video's best moments."""

    __tablename__ = "dynamic_images"

    image_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    app_id: Mapped[str] = mapped_column(String(64), ForeignKey("apps.app_id", ondelete="CASCADE"))
    media_id: Mapped[str] = mapped_column(String(64), index=True)
    ai_job_id: Mapped[str] = mapped_column(String(64))
    blob_key: Mapped[str] = mapped_column(Text)
    fps: Mapped[float] = mapped_column(Float)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    duration_s: Mapped[float] = mapped_column(Float)
    file_size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
