"""Queries of the VOD side: AccessKeys, nonces, the media library, AI jobs and fingerprints (tables in
``store.vod_tables``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from medialens.store.db import Database
from medialens.store.tables import App, Job, utcnow
from medialens.store.vod_tables import (
    AccessKey,
    AIImageInfo,
    AIJob,
    AITemplate,
    CallbackEvent,
    DynamicImage,
    FaceEntry,
    Fingerprint,
    MediaItem,
    MessageCallback,
    SeenNonce,
)

__all__ = ["AIJob", "AccessKey", "FaceEntry", "Fingerprint", "MediaItem"]


# --- AccessKeys -------------------------------------------------------------------------------------------------
def add_key(db: Database, key_id: str, app_id: str, secret_enc: str, *, new_app_name: str | None = None) -> AccessKey:
    with db.session() as s:
        if new_app_name is not None:
            s.add(App(app_id=app_id, name=new_app_name, token=""))
            s.flush()
        key = AccessKey(key_id=key_id, app_id=app_id, secret_enc=secret_enc)
        s.add(key)
    return key


def get_key(db: Database, key_id: str) -> AccessKey | None:
    with db.session() as s:
        return s.get(AccessKey, key_id)


def list_keys(db: Database) -> list[AccessKey]:
    with db.session() as s:
        return list(s.scalars(select(AccessKey).order_by(AccessKey.created_at)))


def delete_key(db: Database, key_id: str) -> bool:
    with db.session() as s:
        key = s.get(AccessKey, key_id)
        if key is None:
            return False
        s.delete(key)
    return True


def app_exists(db: Database, app_id: str) -> bool:
    with db.session() as s:
        return s.get(App, app_id) is not None


def remember_nonce(db: Database, nonce: str, now: datetime, forget_before: datetime) -> bool:
    """Record a nonce; False when it was seen already. Nonces older than ``forget_before`` are dropped (a request
    that old is refused by its timestamp anyway)."""
    try:
        with db.session() as s:
            s.execute(delete(SeenNonce).where(SeenNonce.seen_at < forget_before))
            s.add(SeenNonce(nonce=nonce, seen_at=now))
    except IntegrityError:
        return False
    return True


# --- media ------------------------------------------------------------------------------------------------------
def add_media(db: Database, item: MediaItem) -> MediaItem:
    with db.session() as s:
        s.add(item)
    return item


def finish_registration(db: Database, media_id: str, job_id: int | None, **values: object) -> bool:
    """Write what a RegisterMedia job found (size, length, cover) and mark the medium Normal; False when the medium
    was deleted meanwhile, or is not this job's to finish (only the job the registration started may)."""
    with db.session() as s:
        item = s.get(MediaItem, media_id)
        if item is None or item.status != "Uploading" or job_id is None or item.register_job_id != job_id:
            return False
        for k, v in values.items():
            setattr(item, k, v)
        item.status = "Normal"
        return True


def set_register_job(db: Database, media_id: str, job_id: int) -> None:
    with db.session() as s:
        item = s.get(MediaItem, media_id)
        if item is not None:
            item.register_job_id = job_id


def registration_jobs(db: Database, job_ids: list[int]) -> dict[int, Job]:
    with db.session() as s:
        return {j.id: j for j in s.scalars(select(Job).where(Job.id.in_(job_ids)))} if job_ids else {}


def get_media(db: Database, media_id: str, app_id: str | None) -> MediaItem | None:
    with db.session() as s:
        item = s.get(MediaItem, media_id)
        if item is None or (app_id is not None and item.app_id != app_id):
            return None
        return item


def list_media(db: Database, app_id: str, *, offset: int, limit: int, title: str = "", newest_first: bool = True):
    """(page of media, total) of one account, optionally only titles containing ``title``."""
    with db.session() as s:
        where = [MediaItem.app_id == app_id]
        if title:
            where.append(MediaItem.title.contains(title, autoescape=True))
        total = s.scalar(select(func.count()).select_from(MediaItem).where(*where)) or 0
        order = MediaItem.created_at.desc() if newest_first else MediaItem.created_at.asc()
        rows = s.scalars(
            select(MediaItem).where(*where).order_by(order, MediaItem.media_id).offset(offset).limit(limit)
        )
        return list(rows), total


def delete_media(db: Database, media_id: str, app_id: str) -> MediaItem | None:
    with db.session() as s:
        item = s.get(MediaItem, media_id)
        if item is None or item.app_id != app_id:
            return None
        s.execute(delete(Fingerprint).where(Fingerprint.app_id == app_id, Fingerprint.media_id == media_id))
        s.delete(item)
        return item


# --- AI jobs ----------------------------------------------------------------------------------------------------
def add_ai_jobs(db: Database, jobs: list[AIJob]) -> None:
    with db.session() as s:
        s.add_all(jobs)


def get_ai_jobs(db: Database, app_id: str, ids: list[str]) -> list[tuple[AIJob, Job]]:
    with db.session() as s:
        rows = s.execute(
            select(AIJob, Job).join(Job, Job.id == AIJob.job_id).where(AIJob.app_id == app_id, AIJob.ai_job_id.in_(ids))
        ).all()
        return [(a, j) for a, j in rows]


def latest_ai_job(db: Database, app_id: str, media_id: str, type_: str, *, completed: bool) -> tuple[AIJob, Job] | None:
    """The newest job of a type on a medium (only completed ones with ``completed``)."""
    with db.session() as s:
        q = (
            select(AIJob, Job)
            .join(Job, Job.id == AIJob.job_id)
            .where(AIJob.app_id == app_id, AIJob.media_id == media_id, AIJob.type == type_)
        )
        if completed:
            q = q.where(Job.state == 2)
        row = s.execute(q.order_by(AIJob.created_at.desc(), Job.id.desc()).limit(1)).first()
        return (row[0], row[1]) if row else None


def ai_job_of(db: Database, job_id: int) -> AIJob | None:
    with db.session() as s:
        return s.scalar(select(AIJob).where(AIJob.job_id == job_id))


# --- fingerprints -----------------------------------------------------------------------------------------------
def put_fingerprint(db: Database, fp: Fingerprint) -> None:
    """Add or replace a medium's fingerprint; a replaced one gets a new ``created_at`` (its stamp for the
    in-memory libraries of the workers, ``fingerprint_stamps``)."""
    fp.created_at = utcnow()
    with db.session() as s:
        s.merge(fp)


def fingerprints(
    db: Database, app_id: str, *, exclude: str | None = None, media_ids: list[str] | None = None
) -> list[Fingerprint]:
    """An account's fingerprints (only ``media_ids`` when given)."""
    with db.session() as s:
        q = select(Fingerprint).where(Fingerprint.app_id == app_id)
        if exclude is not None:
            q = q.where(Fingerprint.media_id != exclude)
        if media_ids is not None:
            q = q.where(Fingerprint.media_id.in_(media_ids))
        return list(s.scalars(q))


def fingerprint_stamps(db: Database, app_id: str, method: str) -> dict[str, datetime]:
    """media_id -> when its fingerprint was stored, for every fingerprint of an account made with ``method`` (no
    vectors read): what a worker's in-memory library compares with its own to load only what changed."""
    with db.session() as s:
        q = select(Fingerprint.media_id, Fingerprint.created_at).where(
            Fingerprint.app_id == app_id, Fingerprint.method == method
        )
        return {m: c for m, c in s.execute(q)}


def stale_fingerprints(db: Database, app_id: str, method: str) -> int:
    """How many of an account's fingerprints were made with another recipe than ``method`` (not comparable)."""
    with db.session() as s:
        q = select(func.count()).where(Fingerprint.app_id == app_id, Fingerprint.method != method)
        return int(s.scalar(q) or 0)


def delete_fingerprint(db: Database, app_id: str, media_id: str) -> bool:
    with db.session() as s:
        n = s.execute(delete(Fingerprint).where(Fingerprint.app_id == app_id, Fingerprint.media_id == media_id))
        return bool(n.rowcount)


# --- face library -----------------------------------------------------------------------------------------------
def add_face(db: Database, name: str, embedding: bytes) -> int:
    with db.session() as s:
        entry = FaceEntry(name=name, embedding=embedding)
        s.add(entry)
        s.flush()
        return entry.id


def faces(db: Database) -> list[FaceEntry]:
    with db.session() as s:
        return list(s.scalars(select(FaceEntry).order_by(FaceEntry.id)))


def delete_face(db: Database, face_id: int) -> bool:
    with db.session() as s:
        n = s.execute(delete(FaceEntry).where(FaceEntry.id == face_id))
        return bool(n.rowcount)


# --- event callbacks --------------------------------------------------------------------------------------------
def set_callback(db: Database, app_id: str, url: str, event_types: str, auth_key: str) -> None:
    with db.session() as s:
        s.merge(
            MessageCallback(app_id=app_id, url=url, event_types=event_types, auth_key=auth_key, updated_at=utcnow())
        )


def get_callback(db: Database, app_id: str) -> MessageCallback | None:
    with db.session() as s:
        return s.get(MessageCallback, app_id)


def anything_to_dispatch(db: Database) -> bool:
    """Whether the event dispatcher has anything to look at: an account with a callback (whose finished jobs get
    events) or an event not yet settled. One cheap query for the twice-a-second poll of a server nobody asked for
    callbacks, instead of the two below (~10x the CPU, which requests on a busy server then wait behind)."""
    q = select(or_(exists().where(MessageCallback.app_id.is_not(None)), exists().where(CallbackEvent.state == 0)))
    with db.session() as s:
        return bool(s.execute(q).scalar())


def finished_without_event(db: Database, limit: int = 100) -> list[tuple[AIJob, Job, MessageCallback]]:
    """Finished AI jobs of accounts with a callback, submitted after it was set, that have no event yet."""
    with db.session() as s:
        q = (
            select(AIJob, Job, MessageCallback)
            .join(Job, Job.id == AIJob.job_id)
            .join(MessageCallback, MessageCallback.app_id == AIJob.app_id)
            .outerjoin(CallbackEvent, CallbackEvent.ai_job_id == AIJob.ai_job_id)
            .where(Job.state.in_((2, 3)), CallbackEvent.id.is_(None), AIJob.created_at >= MessageCallback.updated_at)
            .limit(limit)
        )
        return [(a, j, c) for a, j, c in s.execute(q).all()]


def add_event(db: Database, app_id: str, ai_job_id: str, payload: dict) -> bool:
    try:
        with db.session() as s:
            s.add(CallbackEvent(app_id=app_id, ai_job_id=ai_job_id, payload=payload))
    except IntegrityError:  # another process recorded it first
        return False
    return True


def due_events(db: Database, now: datetime, limit: int = 20) -> list[CallbackEvent]:
    with db.session() as s:
        q = select(CallbackEvent).where(CallbackEvent.state == 0, CallbackEvent.next_at <= now)
        return list(s.scalars(q.order_by(CallbackEvent.next_at).limit(limit)))


def claim_event(db: Database, event: CallbackEvent, until: datetime) -> bool:
    """Take an event for one try (a conditional UPDATE: one process wins)."""
    with db.session() as s:
        n = s.execute(
            update(CallbackEvent)
            .where(CallbackEvent.id == event.id, CallbackEvent.attempts == event.attempts, CallbackEvent.state == 0)
            .values(attempts=event.attempts + 1, next_at=until)
        )
        return n.rowcount == 1


def finish_event(db: Database, event_id: int, *, state: int, error: str = "", next_at: datetime | None = None) -> None:
    values: dict = {"state": state, "last_error": error[:500]}
    if next_at is not None:
        values["next_at"] = next_at
    with db.session() as s:
        s.execute(update(CallbackEvent).where(CallbackEvent.id == event_id).values(**values))


def events(db: Database, app_id: str) -> list[CallbackEvent]:
    with db.session() as s:
        return list(s.scalars(select(CallbackEvent).where(CallbackEvent.app_id == app_id).order_by(CallbackEvent.id)))


# --- AI templates and AI images -----------------------------------------------------------------------------------
def add_template(db: Database, template: AITemplate) -> None:
    with db.session() as s:
        s.add(template)


def get_template(db: Database, app_id: str, template_id: str) -> AITemplate | None:
    with db.session() as s:
        t = s.get(AITemplate, template_id)
        return t if t is not None and t.app_id == app_id else None


def list_templates(db: Database, app_id: str, type_: str = "") -> list[AITemplate]:
    with db.session() as s:
        q = select(AITemplate).where(AITemplate.app_id == app_id)
        if type_:
            q = q.where(AITemplate.type == type_)
        return list(s.scalars(q.order_by(AITemplate.created_at, AITemplate.template_id)))


def update_template(db: Database, app_id: str, template_id: str, **values) -> bool:
    with db.session() as s:
        n = s.execute(
            update(AITemplate)
            .where(AITemplate.app_id == app_id, AITemplate.template_id == template_id)
            .values(modified_at=utcnow(), **values)
        )
        return n.rowcount == 1


def delete_template(db: Database, app_id: str, template_id: str) -> bool:
    with db.session() as s:
        n = s.execute(delete(AITemplate).where(AITemplate.app_id == app_id, AITemplate.template_id == template_id))
        return n.rowcount == 1


def set_default_template(db: Database, app_id: str, template_id: str) -> bool:
    with db.session() as s:
        t = s.get(AITemplate, template_id)
        if t is None or t.app_id != app_id:
            return False
        s.execute(update(AITemplate).where(AITemplate.app_id == app_id, AITemplate.type == t.type).values(is_default=0))
        t.is_default = 1
        return True


def add_image_infos(db: Database, infos: list[AIImageInfo]) -> None:
    with db.session() as s:
        s.add_all(infos)


def image_infos(db: Database, app_id: str, media_id: str) -> list[AIImageInfo]:
    with db.session() as s:
        q = select(AIImageInfo).where(AIImageInfo.app_id == app_id, AIImageInfo.media_id == media_id)
        return list(s.scalars(q.order_by(AIImageInfo.score.desc(), AIImageInfo.info_id)))


def delete_image_infos(db: Database, app_id: str, ids: list[str]) -> list[AIImageInfo]:
    with db.session() as s:
        rows = list(s.scalars(select(AIImageInfo).where(AIImageInfo.app_id == app_id, AIImageInfo.info_id.in_(ids))))
        for row in rows:
            s.delete(row)
        return rows


def add_dynamic_image(db: Database, image: DynamicImage) -> None:
    with db.session() as s:
        s.add(image)


def dynamic_images(db: Database, app_id: str, media_id: str) -> list[DynamicImage]:
    with db.session() as s:
        q = select(DynamicImage).where(DynamicImage.app_id == app_id, DynamicImage.media_id == media_id)
        return list(s.scalars(q.order_by(DynamicImage.created_at, DynamicImage.image_id)))


def delete_dynamic_images(db: Database, app_id: str, media_id: str, ids: list[str]) -> list[DynamicImage]:
    with db.session() as s:
        q = select(DynamicImage).where(
            DynamicImage.app_id == app_id, DynamicImage.media_id == media_id, DynamicImage.image_id.in_(ids)
        )
        rows = list(s.scalars(q))
        for row in rows:
            s.delete(row)
        return rows
