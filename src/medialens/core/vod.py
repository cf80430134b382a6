"""What the VOD protocol asks of the core beyond tasks and jobs: AccessKeys, the media library, AI jobs with their
UserData, the fingerprint library, and expiring signed URLs of stored files (covers).

Protocols reach it as ``Vod(core)``; it keeps no state of its own besides a short credential cache.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from medialens.core import file_urls, keys
from medialens.core.errors import BadMedia, CoreError, translate
from medialens.core.service import Core, JobRequest
from medialens.core.ttl_cache import TTLCache
from medialens.core.views import stored_result
from medialens.store import jobs as job_store
from medialens.store import vod as vod_store
from medialens.store.tables import Job, JobState, as_utc
from medialens.store.vod_tables import AIJob, MediaItem
from medialens.tasks.vod import probed_fields, source_key, store_media

AI_TASKS = {
    "AIVideoTag": "vod_video_tag",
    "AIMediaDNA": "vod_media_dna",
    "AIImage": "vod_ai_image",
    "DynamicImage": "vod_dynamic_image",
}
ANALYSE_TYPES = ("face", "ocr", "asr", "category", "keyword")


class MediaNotFound(CoreError):
    """No media with that id in this account."""


class MediaNotReady(CoreError):
    """The medium is still being registered, or its registration failed."""


class TemplateNotFound(CoreError):
    """No AI template with that id (or no default of that type) in this account."""


@dataclass(frozen=True)
class MediaView:
    media_id: str
    app_id: str
    title: str
    source_url: str
    duration_s: float
    size: int
    width: int
    height: int
    fps: float
    cover_key: str | None
    created_at: datetime
    status: str = "Normal"
    """Normal, Uploading (RegisterMedia's job still fetching it) or UploadFail (``status_message`` says why)."""
    status_message: str = ""


@dataclass(frozen=True)
class AIJobView:
    ai_job_id: str
    media_id: str
    type: str
    state: int  # the core job's state: 0 initializing, 1 running, 2 completed, 3 failed
    message: str
    user_data: str
    config: dict[str, Any]
    created_at: datetime
    finished_at: datetime | None
    result: Any


def _media_view(m: MediaItem, status: str = "Normal", message: str = "") -> MediaView:
    return MediaView(
        m.media_id,
        m.app_id,
        m.title,
        m.source_url,
        m.duration_s,
        m.size,
        m.width,
        m.height,
        m.fps,
        m.cover_key,
        as_utc(m.created_at),
        status,
        message,
    )


def _job_view(a: AIJob, j: Job) -> AIJobView:
    return AIJobView(
        a.ai_job_id,
        a.media_id,
        a.type,
        j.state,
        j.message or "",
        a.user_data,
        a.config or {},
        as_utc(a.created_at),
        as_utc(j.finished_at) if j.finished_at else None,
        stored_result(j.task, j.result) if j.state == 2 else None,
    )


class Vod:
    def __init__(self, core: Core) -> None:
        self.core, self.db, self.settings = core, core.db, core.settings
        cache = getattr(core, "_vod_keys", None)
        if cache is None:
            cache = core._vod_keys = TTLCache(core.settings.credential_cache_s)  # type: ignore[attr-defined]
        self._keys = cache

    # --- AccessKeys ----------------------------------------------------------------------------------------------
    def key_secret(self, key_id: str) -> tuple[str, str] | None:
        """(secret, account) of an AccessKey, or None (cached for a few seconds)."""
        return self._keys.get(key_id, lambda: keys.key_secret(self.db, self.settings, key_id))

    def first_use_of_nonce(self, key_id: str, nonce: str) -> bool:
        return keys.first_use_of_nonce(self.db, key_id, nonce)

    # --- media library -------------------------------------------------------------------------------------------
    def register_media(self, app_id: str, source: str, title: str = "", *, local_path_ok: bool = False) -> MediaView:
        """Fetch (or, for the CLI, copy) a video, probe it, keep it and a cover frame, within the call; the row is
        written last, so a refused or failed registration leaves nothing behind. Raises BadMedia / MediaTooLarge.
        The CLI and the native API use it; VOD's RegisterMedia uses ``start_registration``."""
        from medialens.blobs import open_blob_store
        from medialens.media.fetch import fetch_to_file
        from medialens.media.video import probe_video

        media_id = uuid.uuid4().hex
        store = open_blob_store(self.settings)
        kept: list[str] = []
        tmp = Path(tempfile.mkdtemp(prefix="vod-register-", dir=self.settings.resolved_blob_dir.parent))
        try:
            local = Path(source).expanduser()
            if local_path_ok and "://" not in source:
                if not local.is_file():
                    raise BadMedia(f"no such file: {source}")
                if local.stat().st_size > self.settings.video_max_bytes:
                    raise BadMedia(f"file is larger than {self.settings.video_max_bytes} bytes")
                path = tmp / "source"
                shutil.copyfile(local, path)
            else:
                path = fetch_to_file(
                    source, tmp / "source", max_bytes=self.settings.video_max_bytes, settings=self.settings
                )
            info = probe_video(path, settings=self.settings)
            kept = store_media(self.settings, media_id, path)
            item = MediaItem(
                media_id=media_id,
                app_id=app_id,
                title=(title or Path(source.split("?")[0]).name)[:400],
                source_url=source if "://" in source else "",
                blob_key=source_key(media_id),
                **probed_fields(info, kept),
            )
            vod_store.add_media(self.db, item)
            kept.clear()
            return self._view(item)
        except Exception as err:
            raise translate(err, "register media") from err
        finally:
            for key in kept:  # only left when the registration failed
                store.delete(key)
            shutil.rmtree(tmp, ignore_errors=True)

    def start_registration(self, app_id: str, url: str, title: str = "") -> MediaView:
        """Register a URL at once, as VOD's RegisterMedia does: the medium exists now with status "Uploading"; a
        durable ``vod_register`` job fetches and probes it (a download can take long), after which it reads
        "Normal", or "UploadFail" with the job's message. A URL that cannot be fetched at all (scheme, host, an
        address the SSRF guard refuses) is refused here: BadMedia."""
        from medialens.media.errors import MediaError
        from medialens.media.ssrf import vet_url

        try:
            vet_url(url, allow_private=self.settings.allow_private_urls)
        except MediaError as err:
            raise BadMedia(f"{url[:200]}: {err}") from err
        self.core.require("vod_register")
        media_id = uuid.uuid4().hex
        item = MediaItem(
            media_id=media_id,
            app_id=app_id,
            title=(title or Path(url.split("?")[0]).name)[:400],
            source_url=url,
            blob_key=source_key(media_id),
            status="Uploading",
        )
        vod_store.add_media(self.db, item)
        options = self.core.options("vod_register", {"media_id": media_id, "account": app_id})
        try:
            _, (job_id,) = self.core.submit(app_id, [JobRequest("vod_register", options, url=url, object_url=media_id)])
        except Exception:
            vod_store.delete_media(self.db, media_id, app_id)
            raise
        vod_store.set_register_job(self.db, media_id, job_id)
        return self.media(app_id, media_id)

    def _view(self, item: MediaItem, job: Job | None = None) -> MediaView:
        """The medium as it is now: an unfinished registration reads Uploading, or UploadFail with its reason."""
        status, message = item.status or "Normal", ""
        if status == "Uploading" and item.register_job_id is not None:
            if job is None:
                job = vod_store.registration_jobs(self.db, [item.register_job_id]).get(item.register_job_id)
            if job is None or job.state == JobState.FAILED:
                status, message = "UploadFail", (job.message if job is not None else "the registration job is gone")
        return _media_view(item, status, message)

    def media(self, app_id: str, media_id: str) -> MediaView:
        item = vod_store.get_media(self.db, media_id, app_id)
        if item is None:
            raise MediaNotFound(f"no media {media_id[:64]}")
        return self._view(item)

    def list_media(
        self, app_id: str, *, page: int, size: int, title: str = "", newest_first: bool = True
    ) -> tuple[list[MediaView], int]:
        rows, total = vod_store.list_media(
            self.db, app_id, offset=(page - 1) * size, limit=size, title=title, newest_first=newest_first
        )
        jobs = vod_store.registration_jobs(self.db, [m.register_job_id for m in rows if m.status == "Uploading"])
        return [self._view(m, jobs.get(m.register_job_id or -1)) for m in rows], total

    def delete_media(self, app_id: str, media_id: str) -> bool:
        from medialens.blobs import open_blob_store

        item = vod_store.delete_media(self.db, media_id, app_id)
        if item is None:
            return False
        if item.register_job_id is not None:  # still registering: its job writes nothing more (the runner drops it)
            job_store.cancel_job(self.db, item.register_job_id, app_id)
        store = open_blob_store(self.settings)
        for key in (item.blob_key, item.cover_key):
            if key:
                store.delete(key)
        return True

    # --- signed file URLs ----------------------------------------------------------------------------------------
    def file_query(self, key: str, ttl_s: int = 3600) -> str:
        """``expires=...&sig=...`` for the file ``key`` (GET /vod/files/<key>?...)."""
        return file_urls.signed_query(self.settings, key, ttl_s)

    def signed_file(self, key: str, expires: str, sig: str) -> bytes | None:
        """The file's bytes when the signature is right and has not expired, else None."""
        from medialens.blobs import open_blob_store

        return file_urls.signed_file(open_blob_store(self.settings), self.settings, key, expires, sig, "vod/")

    # --- event callbacks ---------------------------------------------------------------------------------------------
    def set_callback(self, app_id: str, url: str, event_types: str, auth_key: str) -> None:
        from medialens.core import vod_events

        vod_events.set_callback(self.db, self.settings, app_id, url, event_types, auth_key)

    def get_callback(self, app_id: str) -> dict[str, str] | None:
        from medialens.core import vod_events

        return vod_events.get_callback(self.db, app_id)

    # --- AI templates and AI images ----------------------------------------------------------------------------------
    def add_template(self, app_id: str, name: str, type_: str, config: str) -> str:
        from medialens.store.vod_tables import AITemplate

        template_id = uuid.uuid4().hex
        vod_store.add_template(
            self.db, AITemplate(template_id=template_id, app_id=app_id, name=name, type=type_, config=config)
        )
        return template_id

    def template(self, app_id: str, template_id: str):
        found = vod_store.get_template(self.db, app_id, template_id)
        if found is None:
            raise TemplateNotFound(f"no template {template_id[:64]}")
        return found

    def templates(self, app_id: str, type_: str = ""):
        return vod_store.list_templates(self.db, app_id, type_)

    def update_template(self, app_id: str, template_id: str, **values: str) -> None:
        if not vod_store.update_template(self.db, app_id, template_id, **values):
            raise TemplateNotFound(f"no template {template_id[:64]}")

    def delete_template(self, app_id: str, template_id: str) -> None:
        if not vod_store.delete_template(self.db, app_id, template_id):
            raise TemplateNotFound(f"no template {template_id[:64]}")

    def set_default_template(self, app_id: str, template_id: str) -> None:
        if not vod_store.set_default_template(self.db, app_id, template_id):
            raise TemplateNotFound(f"no template {template_id[:64]}")

    def default_template(self, app_id: str, type_: str):
        found = [t for t in vod_store.list_templates(self.db, app_id, type_) if t.is_default]
        if not found:
            raise TemplateNotFound(f"no default {type_[:64]} template")
        return found[0]

    def image_infos(self, app_id: str, media_id: str):
        self.media(app_id, media_id)
        return vod_store.image_infos(self.db, app_id, media_id)

    def delete_image_infos(self, app_id: str, ids: list[str]) -> None:
        from medialens.blobs import open_blob_store

        store = open_blob_store(self.settings)
        for row in vod_store.delete_image_infos(self.db, app_id, ids):
            store.delete(row.blob_key)

    def dynamic_images(self, app_id: str, media_id: str):
        self.media(app_id, media_id)
        return vod_store.dynamic_images(self.db, app_id, media_id)

    def delete_dynamic_images(self, app_id: str, media_id: str, ids: list[str]) -> None:
        from medialens.blobs import open_blob_store

        store = open_blob_store(self.settings)
        for row in vod_store.delete_dynamic_images(self.db, app_id, media_id, ids):
            store.delete(row.blob_key)

    # --- AI jobs -------------------------------------------------------------------------------------------------
    def submit_ai_jobs(
        self, app_id: str, media_id: str, types: list[str], config: dict[str, Any], user_data: str
    ) -> list[AIJobView]:
        """One durable job per type; each remembers its UserData and config."""
        media = self.media(app_id, media_id)
        if media.status != "Normal":
            raise MediaNotReady(f"the media is not ready for AI jobs (status {media.status})")
        requests, rows = [], []
        for type_ in types:
            task = AI_TASKS[type_]
            self.core.require(task)
            given = dict(config.get(type_) or {}) if isinstance(config.get(type_), dict) else {}
            ai_job_id = uuid.uuid4().hex
            base = {"media_id": media.media_id, "account": app_id, "ai_job_id": ai_job_id}
            options = self.core.options(task, {**base, **_opts(type_, given)})
            requests.append(JobRequest(task, options, url=f"blob:{source_key(media.media_id)}", object_url=media_id))
            rows.append((ai_job_id, type_, given))
        _, ids = self.core.submit(app_id, requests)
        jobs = [
            AIJob(ai_job_id=a, app_id=app_id, media_id=media_id, type=t, job_id=i, config=c, user_data=user_data)
            for (a, t, c), i in zip(rows, ids, strict=True)
        ]
        vod_store.add_ai_jobs(self.db, jobs)
        return [self._one(app_id, j.ai_job_id) for j in jobs]

    def _one(self, app_id: str, ai_job_id: str) -> AIJobView:
        return _job_view(*vod_store.get_ai_jobs(self.db, app_id, [ai_job_id])[0])

    def ai_jobs(self, app_id: str, ids: list[str]) -> tuple[list[AIJobView], list[str]]:
        """The jobs found (in the order asked) and the ids that do not exist."""
        found = {a.ai_job_id: _job_view(a, j) for a, j in vod_store.get_ai_jobs(self.db, app_id, ids)}
        return [found[i] for i in ids if i in found], [i for i in ids if i not in found]

    def latest_result(self, app_id: str, media_id: str, type_: str) -> AIJobView | None:
        """The newest completed job of a type on a medium (its typed result), or None."""
        self.media(app_id, media_id)
        row = vod_store.latest_ai_job(self.db, app_id, media_id, type_, completed=True)
        return _job_view(*row) if row else None

    def delete_dna(self, app_id: str, media_id: str) -> str:
        """Remove a medium's fingerprint from the account's library (done at once); returns a job id."""
        vod_store.delete_fingerprint(self.db, app_id, media_id)
        return uuid.uuid4().hex


def _opts(type_: str, given: dict[str, Any]) -> dict[str, Any]:
    if type_ == "DynamicImage":
        names = {"Duration": "duration_s", "Fps": "fps", "Width": "width"}
        return {names[k]: v for k, v in given.items() if k in names}
    if type_ == "AIImage":
        return {"count": given["Count"]} if "Count" in given else {}
    if type_ == "AIVideoTag":
        raw = given.get("AnalyseTypes")
        if raw is None:
            return {}
        if not isinstance(raw, str):
            return {"analyse_types": raw}  # the options model names the problem
        return {"analyse_types": [t.strip().lower() for t in raw.split(",") if t.strip()]}
    return {}


# --- face library (named persons of AIVideoTag) ----------------------------------------------------------------------
def add_face(core: Core, name: str, image: bytes) -> int:
    """Add the largest face of an image to the face library under ``name``; Unprocessable without a face."""
    import numpy as np

    from medialens.analyses.errors import UnprocessableError
    from medialens.media.images import load_image
    from medialens.models.loader import get_pipeline

    try:
        rgb = np.asarray(load_image(image, settings=core.settings).convert("RGB"))
        faces = [f for f in get_pipeline("dlib-face", core.settings).run_batch([rgb])[0] if f.embedding is not None]
        if not faces:
            raise UnprocessableError("no face found in the image")
        main = max(faces, key=lambda f: (f.bbox[2] - f.bbox[0]) * (f.bbox[3] - f.bbox[1]))
        return vod_store.add_face(core.db, name, np.asarray(main.embedding, np.float32).tobytes())
    except Exception as err:
        raise translate(err, "add face") from err


def list_faces(core: Core) -> list[tuple[int, str]]:
    return [(f.id, f.name) for f in vod_store.faces(core.db)]


def delete_face(core: Core, face_id: int) -> bool:
    return vod_store.delete_face(core.db, face_id)
