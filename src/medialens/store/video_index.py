"""Video indexes: API keys, indexes, index tasks (one per uploaded video, the video itself once indexed) and
classify result pages. Tables and every query on them (migration 0005_twelvelabs).

A task and its video share one row: the task id is ``id``, the video id ``video_id``; the indexing work is a
durable job (``job_id``) whose stored result is the video's evidence (segments, transcript, on-screen text).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, delete, func, select
from sqlalchemy.orm import Mapped, mapped_column

from medialens.store.db import Database
from medialens.store.tables import App, Base, IdType, Job, utcnow


def new_id() -> str:
    """24 hex digits, the shape of the ids the service hands out."""
    return secrets.token_hex(12)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class ApiKey(Base):
    __tablename__ = "api_keys"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    prefix: Mapped[str] = mapped_column(String(16))
    app_id: Mapped[str] = mapped_column(String(64), ForeignKey("apps.app_id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class VideoIndex(Base):
    __tablename__ = "video_indexes"

    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    app_id: Mapped[str] = mapped_column(String(64), ForeignKey("apps.app_id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    engines: Mapped[list] = mapped_column(JSON)
    addons: Mapped[list | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class IndexedVideo(Base):
    __tablename__ = "indexed_videos"

    id: Mapped[str] = mapped_column(String(24), primary_key=True)  # the task id
    video_id: Mapped[str] = mapped_column(String(24), unique=True)
    index_id: Mapped[str] = mapped_column(String(24), ForeignKey("video_indexes.id", ondelete="CASCADE"))
    app_id: Mapped[str] = mapped_column(String(64), ForeignKey("apps.app_id", ondelete="CASCADE"))
    job_id: Mapped[int | None] = mapped_column(IdType, nullable=True)
    filename: Mapped[str] = mapped_column(String(500), default="")
    source_url: Mapped[str] = mapped_column(Text, default="")
    title: Mapped[str] = mapped_column(String(500), default="")
    info: Mapped[dict] = mapped_column(JSON, default=dict)  # duration, fps, width, height, size
    user_metadata: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (Index("ix_indexed_videos_index_id", "index_id", "created_at"),)


class ClassifyPage(Base):
    __tablename__ = "classify_pages"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    app_id: Mapped[str] = mapped_column(String(64), ForeignKey("apps.app_id", ondelete="CASCADE"))
    request: Mapped[dict] = mapped_column(JSON)
    page: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


# --- API keys -------------------------------------------------------------------------------------------------------
def create_api_key(db: Database) -> tuple[str, ApiKey]:
    """A new key (shown once) and its record; each key owns its own app, i.e. its own indexes and jobs."""
    key = "tlk_" + secrets.token_hex(16)
    with db.session() as s:
        app = App(app_id="tl" + secrets.token_hex(8), name="api key", token=secrets.token_hex(16))
        s.add(app)
        s.flush()
        row = ApiKey(key_hash=key_hash(key), prefix=key[:12], app_id=app.app_id)
        s.add(row)
    return key, row


def api_key_owner(db: Database, key: str) -> str | None:
    with db.session() as s:
        row = s.get(ApiKey, key_hash(key))
        return row.app_id if row else None


def list_api_keys(db: Database) -> list[ApiKey]:
    with db.session() as s:
        return list(s.scalars(select(ApiKey).order_by(ApiKey.created_at)))


def delete_api_key(db: Database, prefix_or_key: str) -> bool:
    """Delete by the whole key or by its listed prefix (and the key's app, with its indexes and jobs)."""
    with db.session() as s:
        row = s.get(ApiKey, key_hash(prefix_or_key))
        if row is None:
            rows = list(s.scalars(select(ApiKey).where(ApiKey.prefix == prefix_or_key)))
            if len(rows) != 1:
                return False
            row = rows[0]
        app = s.get(App, row.app_id)
        s.delete(app if app is not None else row)  # the key's app: the database cascades to the key and the rest
    return True


# --- indexes --------------------------------------------------------------------------------------------------------
def create_index(db: Database, app_id: str, name: str, engines: list[dict], addons: list[str] | None) -> VideoIndex:
    now = utcnow()
    row = VideoIndex(
        id=new_id(), app_id=app_id, name=name, engines=engines, addons=addons, created_at=now, updated_at=now
    )
    with db.session() as s:
        s.add(row)
    return row


def get_index(db: Database, app_id: str, index_id: str) -> VideoIndex | None:
    with db.session() as s:
        row = s.get(VideoIndex, index_id)
        return row if row is not None and row.app_id == app_id else None


def index_name_taken(db: Database, app_id: str, name: str, but: str | None = None) -> bool:
    with db.session() as s:
        q = select(VideoIndex.id).where(VideoIndex.app_id == app_id, VideoIndex.name == name)
        if but:
            q = q.where(VideoIndex.id != but)
        return s.scalar(q) is not None


def list_indexes(db: Database, app_id: str) -> list[VideoIndex]:
    with db.session() as s:
        return list(s.scalars(select(VideoIndex).where(VideoIndex.app_id == app_id)))


def rename_index(db: Database, app_id: str, index_id: str, name: str) -> bool:
    with db.session() as s:
        row = s.get(VideoIndex, index_id)
        if row is None or row.app_id != app_id:
            return False
        row.name, row.updated_at = name, utcnow()
    return True


def delete_index(db: Database, app_id: str, index_id: str) -> list[int]:
    """Delete an index and its videos; returns the job ids of its videos (for the caller to forget)."""
    with db.session() as s:
        row = s.get(VideoIndex, index_id)
        if row is None or row.app_id != app_id:
            return []
        jobs = [j for j in s.scalars(select(IndexedVideo.job_id).where(IndexedVideo.index_id == index_id)) if j]
        s.execute(delete(IndexedVideo).where(IndexedVideo.index_id == index_id))
        s.delete(row)
    return jobs


@dataclass(frozen=True)
class IndexStats:
    video_count: int
    total_duration: float


def index_stats(db: Database, index_ids: Sequence[str]) -> dict[str, IndexStats]:
    """Videos per index that finished indexing, and their summed duration (one query)."""
    if not index_ids:
        return {}
    out: dict[str, list[float]] = {i: [] for i in index_ids}
    with db.session() as s:
        q = (
            select(IndexedVideo.index_id, IndexedVideo.info)
            .join(Job, Job.id == IndexedVideo.job_id)
            .where(IndexedVideo.index_id.in_(list(index_ids)), Job.state == 2)
        )
        for index_id, info in s.execute(q):
            out[index_id].append(float((info or {}).get("duration", 0.0)))
    return {k: IndexStats(len(v), round(sum(v), 3)) for k, v in out.items()}


# --- videos / tasks -------------------------------------------------------------------------------------------------
def add_video(db: Database, row: IndexedVideo) -> IndexedVideo:
    with db.session() as s:
        s.add(row)
    return row


def set_video_job(db: Database, task_id: str, job_id: int) -> None:
    with db.session() as s:
        row = s.get(IndexedVideo, task_id)
        if row is not None:
            row.job_id = job_id


def update_video(db: Database, task_id: str, **values: Any) -> None:
    with db.session() as s:
        row = s.get(IndexedVideo, task_id)
        if row is not None:
            for k, v in values.items():
                setattr(row, k, v)
            row.updated_at = utcnow()


def get_task_row(db: Database, app_id: str, task_id: str) -> tuple[IndexedVideo, Job | None] | None:
    with db.session() as s:
        row = s.get(IndexedVideo, task_id)
        if row is None or row.app_id != app_id:
            return None
        return row, (s.get(Job, row.job_id) if row.job_id else None)


def get_video_row(db: Database, app_id: str, video_id: str) -> tuple[IndexedVideo, Job | None] | None:
    with db.session() as s:
        row = s.scalar(select(IndexedVideo).where(IndexedVideo.video_id == video_id))
        if row is None or row.app_id != app_id:
            return None
        return row, (s.get(Job, row.job_id) if row.job_id else None)


def get_video_row_any(db: Database, video_id: str) -> IndexedVideo | None:
    with db.session() as s:
        return s.scalar(select(IndexedVideo).where(IndexedVideo.video_id == video_id))


def list_video_rows(
    db: Database, app_id: str, index_id: str | None = None, video_ids: Sequence[str] | None = None
) -> list[tuple[IndexedVideo, Job | None]]:
    """Tasks (with their jobs) of an app, of one index or some videos, oldest first."""
    with db.session() as s:
        q = select(IndexedVideo, Job).outerjoin(Job, Job.id == IndexedVideo.job_id).where(IndexedVideo.app_id == app_id)
        if index_id is not None:
            q = q.where(IndexedVideo.index_id == index_id)
        if video_ids is not None:
            q = q.where(IndexedVideo.video_id.in_(list(video_ids)))
        return [(v, j) for v, j in s.execute(q.order_by(IndexedVideo.created_at, IndexedVideo.id))]


@dataclass(frozen=True)
class ReadyVideo:
    """What classify needs of an indexed video (never its evidence, which is cached by job id)."""

    id: str
    video_id: str
    job_id: int
    filename: str
    title: str
    info: dict
    user_metadata: dict


def ready_videos(
    db: Database,
    app_id: str,
    index_id: str | None = None,
    video_ids: Sequence[str] | None = None,
    *,
    metadata: bool = True,
) -> list[ReadyVideo]:
    """The videos that finished indexing, oldest first (a narrow query: no job results are read; without
    ``metadata`` not even the JSON of their info and user metadata, which only filters need)."""
    with db.session() as s:
        json_columns = (IndexedVideo.info, IndexedVideo.user_metadata) if metadata else ()
        q = (
            select(
                IndexedVideo.id,
                IndexedVideo.video_id,
                IndexedVideo.job_id,
                IndexedVideo.filename,
                IndexedVideo.title,
                *json_columns,
            )
            .join(Job, Job.id == IndexedVideo.job_id)
            .where(IndexedVideo.app_id == app_id, Job.state == 2)
        )
        if index_id is not None:
            q = q.where(IndexedVideo.index_id == index_id)
        if video_ids is not None:
            q = q.where(IndexedVideo.video_id.in_(list(video_ids)))
        rows = s.execute(q.order_by(IndexedVideo.created_at, IndexedVideo.id))
        return [ReadyVideo(*r) if metadata else ReadyVideo(*r, {}, {}) for r in rows]


def job_results(db: Database, job_ids: Sequence[int]) -> list[tuple[int, dict | None]]:
    with db.session() as s:
        out = []
        for k in range(0, len(job_ids), 500):
            out += list(s.execute(select(Job.id, Job.result).where(Job.id.in_(list(job_ids[k : k + 500])))))
        return [(i, r) for i, r in out]


def delete_video_row(db: Database, task_id: str) -> int | None:
    """Delete a task/video row; returns its job id (for the caller to forget the job's evidence)."""
    with db.session() as s:
        row = s.get(IndexedVideo, task_id)
        if row is None:
            return None
        job_id = row.job_id
        s.delete(row)
    return job_id


def task_ids_of_index(db: Database, index_id: str) -> list[str]:
    with db.session() as s:
        return list(s.scalars(select(IndexedVideo.id).where(IndexedVideo.index_id == index_id)))


def forget_jobs(db: Database, app_id: str, job_ids: Sequence[int]) -> None:
    """The jobs of deleted videos: a waiting or running one is cancelled (its worker can no longer write a
    result), then every one of them is deleted with its stored result (the video's evidence)."""
    from medialens.store.jobs import cancel_job

    for job_id in job_ids:
        cancel_job(db, job_id, app_id)
    with db.session() as s:
        for k in range(0, len(job_ids), 500):
            s.execute(delete(Job).where(Job.id.in_(list(job_ids[k : k + 500])), Job.app_id == app_id))


def count_by_state(db: Database, app_id: str, index_id: str) -> dict[int | None, int]:
    with db.session() as s:
        q = (
            select(Job.state, func.count())
            .select_from(IndexedVideo)
            .outerjoin(Job, Job.id == IndexedVideo.job_id)
            .where(IndexedVideo.app_id == app_id, IndexedVideo.index_id == index_id)
            .group_by(Job.state)
        )
        return {state: n for state, n in s.execute(q)}


# --- classify pages -------------------------------------------------------------------------------------------------
def save_page(db: Database, app_id: str, request: dict, page: int, expires_at: datetime) -> str:
    token = secrets.token_urlsafe(24)
    with db.session() as s:
        s.execute(delete(ClassifyPage).where(ClassifyPage.expires_at < utcnow()))
        s.add(ClassifyPage(token=token, app_id=app_id, request=request, page=page, expires_at=expires_at))
    return token


def get_page(db: Database, app_id: str, token: str) -> ClassifyPage | None:
    with db.session() as s:
        row = s.get(ClassifyPage, token)
        return row if row is not None and row.app_id == app_id else None
