"""Video indexes through the core: API keys, indexes, index tasks (a durable ``video_index`` job each), videos,
their stored evidence, and classify by prompts over that evidence. Protocol-neutral views; errors are CoreErrors.

``VideoIndexes.of(core)`` is the door (one per Core). Nothing here decodes media: indexing runs in jobs, classify
reads the jobs' stored results (compiled into arrays once per video and cached in the process).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from medialens.analyses import classify_by_prompts as cbp
from medialens.analyses import evidence
from medialens.blobs import open_blob_store
from medialens.core.errors import AlreadyExists, InvalidOptions, NotFound, translate
from medialens.models.errors import ModelNotInstalledError
from medialens.store import video_index as vs
from medialens.store.tables import Job, JobState, as_utc, utcnow
from medialens.tasks.video_index import thumbnail_key

log = logging.getLogger(__name__)
ClassSpec = cbp.ClassSpec
CLIP_MIN_SCORE = cbp.CLIP_MIN_SCORE
ENGINE_OPTIONS = ("visual", "conversation", "text_in_video", "logo")
PAGE_TTL_S = 3600
EVIDENCE_CACHE = 5000
PROMPT_CACHE = 4096
BATCH_CACHE = 8


def task_prefix(task_id: str) -> str:
    """Where a task's files live in the blob store: the upload (``/video``) and thumbnails (``/thumbs``)."""
    return f"video-index/{task_id}"


def _iso(value: datetime | None) -> str | None:
    return None if value is None else as_utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- views ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class IndexView:
    id: str
    name: str
    engines: list[dict[str, Any]]
    addons: list[str] | None
    video_count: int
    total_duration: float
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class TaskView:
    id: str
    index_id: str
    video_id: str | None
    status: str  # pending | indexing | ready | failed
    percentage: float
    remain_seconds: float | None
    metadata: dict[str, Any]
    message: str
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class VideoView:
    id: str
    index_id: str
    metadata: dict[str, Any]
    source: dict[str, Any]
    created_at: str
    updated_at: str
    indexed_at: str | None


@dataclass(frozen=True)
class TimedValue:
    start: float
    end: float
    value: str


@dataclass(frozen=True)
class ClassifyVideo:
    video_id: str
    classes: list[cbp.ClassResult]


@dataclass(frozen=True)
class ClassifyPageView:
    data: list[ClassifyVideo]
    limit_per_page: int
    total_results: int
    page_expired_at: str
    next_page_token: str | None
    prev_page_token: str | None


@dataclass
class ClassifyRequest:
    classes: list[cbp.ClassSpec]
    video_ids: list[str] | None = None
    index_id: str | None = None
    include_clips: bool = False
    show_detailed_score: bool = False
    page_limit: int = 10
    min_video_score: float = 0.0
    min_clip_score: float = cbp.CLIP_MIN_SCORE
    min_duration_ratio: float = 0.0
    filter: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["classes"] = [c.__dict__ for c in self.classes]
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ClassifyRequest:
        d = dict(d)
        d["classes"] = [
            cbp.ClassSpec(c["name"], tuple(c["prompts"]), tuple(c["options"]), c["conversation_option"])
            for c in d["classes"]
        ]
        return cls(**d)


# --- helpers -------------------------------------------------------------------------------------------------------
_PERCENT = re.compile(r"(\d+)%")
STATUS = {JobState.INITIALIZING: "pending", JobState.RUNNING: "indexing", JobState.COMPLETED: "ready"}


def _status(job: Job | None) -> str:
    if job is None:
        return "pending"
    return STATUS.get(job.state, "failed")


def _percentage(job: Job | None) -> float:
    if job is None or job.state == JobState.INITIALIZING:
        return 0.0
    if job.state in JobState.FINISHED:
        return 100.0
    m = _PERCENT.search(job.message or "")
    return float(m.group(1)) if m else 0.0


def _remain(job: Job | None, pct: float) -> float | None:
    if job is None or job.state != JobState.RUNNING or not job.started_at or pct <= 0:
        return None
    spent = (utcnow() - as_utc(job.started_at)).total_seconds()
    return round(max(0.0, spent * (100.0 - pct) / pct), 1)


def _metadata(row: vs.IndexedVideo) -> dict[str, Any]:
    info = row.info or {}
    meta = {
        "filename": row.filename,
        "duration": float(info.get("duration", 0.0)),
        "fps": float(info.get("fps", 0.0)),
        "width": int(info.get("width", 0)),
        "height": int(info.get("height", 0)),
        "size": int(info.get("size", 0)),
    }
    if row.title:
        meta["video_title"] = row.title
    return meta | (row.user_metadata or {})


def _compare(value: Any, cond: Any) -> bool:
    if isinstance(cond, dict):
        ops = {
            "gte": lambda a, b: a >= b,
            "gt": lambda a, b: a > b,
            "lte": lambda a, b: a <= b,
            "lt": lambda a, b: a < b,
        }
        ops["eq"] = lambda a, b: a == b
        try:
            return all(ops[k](value, type(value)(v) if value is not None else v) for k, v in cond.items() if k in ops)
        except (TypeError, ValueError):
            return False
    if isinstance(cond, list):
        return value in cond
    return value == cond or (isinstance(value, str) and str(cond) == value)


def matches(fields: dict[str, Any], filters: dict[str, Any]) -> bool:
    """``filters`` (field -> value, list of values, or {gte, gt, lte, lt, eq}) all hold for ``fields``."""
    return all(_compare(fields.get(k), v) for k, v in filters.items())


class _LRU:
    def __init__(self, size: int) -> None:
        self.size, self._d, self._lock = size, OrderedDict(), threading.Lock()

    def get(self, key: Any) -> Any:
        with self._lock:
            if key in self._d:
                self._d.move_to_end(key)
                return self._d[key]
        return None

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._d[key] = value
            self._d.move_to_end(key)
            while len(self._d) > self.size:
                self._d.popitem(last=False)


# --- the service ---------------------------------------------------------------------------------------------------
class VideoIndexes:
    _lock = threading.Lock()

    def __init__(self, core: Any) -> None:
        self.core, self.db, self.settings = core, core.db, core.settings
        self._evidence = _LRU(EVIDENCE_CACHE)
        self._prompts = _LRU(PROMPT_CACHE)
        self._keys = _LRU(1024)
        self._batches = _LRU(BATCH_CACHE)

    @classmethod
    def of(cls, core: Any) -> VideoIndexes:
        with cls._lock:
            found = getattr(core, "_video_indexes", None)
            if found is None:
                found = cls(core)
                core._video_indexes = found
            return found

    # --- API keys ----------------------------------------------------------------------------------------------
    def owner_of(self, api_key: str) -> str | None:
        """The owner (app id) of an API key, or None (cached for a few seconds)."""
        hit = self._keys.get(api_key)
        if hit is not None and time.monotonic() - hit[0] < 5.0:
            return hit[1]
        owner = vs.api_key_owner(self.db, api_key)
        self._keys.put(api_key, (time.monotonic(), owner))
        return owner

    # --- indexes -----------------------------------------------------------------------------------------------
    def _index_view(self, row: vs.VideoIndex, stats: vs.IndexStats | None) -> IndexView:
        return IndexView(
            id=row.id,
            name=row.name,
            engines=row.engines,
            addons=row.addons,
            video_count=stats.video_count if stats else 0,
            total_duration=stats.total_duration if stats else 0.0,
            created_at=_iso(row.created_at),
            updated_at=_iso(row.updated_at),
        )

    def create_index(self, owner: str, name: str, engines: list[dict[str, Any]], addons: list[str] | None) -> str:
        if not name.strip():
            raise InvalidOptions("index_name", "must not be empty")
        if not engines:
            raise InvalidOptions("engines", "must name at least one engine")
        clean = []
        for e in engines:
            options = list(dict.fromkeys(e.get("engine_options") or []))
            bad = [o for o in options if o not in ENGINE_OPTIONS]
            if bad or not options:
                raise InvalidOptions("engine_options", f"must be some of {', '.join(ENGINE_OPTIONS)}")
            clean.append({"engine_name": str(e.get("engine_name") or ""), "engine_options": options})
        if vs.index_name_taken(self.db, owner, name):
            raise AlreadyExists(f"an index named {name[:100]!r} exists already")
        return vs.create_index(self.db, owner, name, clean, addons).id

    def index(self, owner: str, index_id: str) -> IndexView:
        row = vs.get_index(self.db, owner, index_id)
        if row is None:
            raise NotFound(f"index {index_id[:64]} does not exist")
        return self._index_view(row, vs.index_stats(self.db, [row.id]).get(row.id))

    def indexes(self, owner: str, filters: dict[str, Any], sort_by: str, descending: bool) -> list[IndexView]:
        rows = vs.list_indexes(self.db, owner)
        stats = vs.index_stats(self.db, [r.id for r in rows])
        views = [self._index_view(r, stats.get(r.id)) for r in rows]

        def fields(v: IndexView) -> dict[str, Any]:
            opts = sorted({o for e in v.engines for o in e["engine_options"]})
            return {
                "_id": v.id,
                "index_name": v.name,
                "created_at": v.created_at,
                "updated_at": v.updated_at,
                "engine_family": v.engines[0]["engine_name"] if v.engines else "",
                "engine_options": opts,
            }

        opts_filter = filters.pop("engine_options", None)
        out = [v for v in views if matches(fields(v), filters)]
        if opts_filter:
            want = set(opts_filter if isinstance(opts_filter, list) else [opts_filter])
            out = [v for v in out if want <= set(fields(v)["engine_options"])]
        key = sort_by if sort_by in ("created_at", "updated_at", "index_name", "video_count") else "created_at"
        if key == "video_count":
            out.sort(key=lambda v: v.video_count, reverse=descending)
        else:
            out.sort(key=lambda v: str(fields(v).get(key) or ""), reverse=descending)
        return out

    def rename_index(self, owner: str, index_id: str, name: str) -> None:
        if not name.strip():
            raise InvalidOptions("index_name", "must not be empty")
        if vs.get_index(self.db, owner, index_id) is None:
            raise NotFound(f"index {index_id[:64]} does not exist")
        if vs.index_name_taken(self.db, owner, name, but=index_id):
            raise AlreadyExists(f"an index named {name[:100]!r} exists already")
        vs.rename_index(self.db, owner, index_id, name)

    def delete_index(self, owner: str, index_id: str) -> None:
        """The index, its videos, their jobs' stored evidence and their files in the blob store."""
        if vs.get_index(self.db, owner, index_id) is None:
            raise NotFound(f"index {index_id[:64]} does not exist")
        task_ids = vs.task_ids_of_index(self.db, index_id)
        job_ids = vs.delete_index(self.db, owner, index_id)
        self._forget(owner, task_ids, job_ids)

    def _forget(self, owner: str, task_ids: Sequence[str], job_ids: Sequence[int]) -> None:
        """What deleted videos leave: their jobs (cancelled if still running) with the stored evidence, and their
        blobs (upload, thumbnails). Blob errors are logged, not raised: the rows are gone already."""
        vs.forget_jobs(self.db, owner, list(job_ids))
        store = open_blob_store(self.settings)
        for task_id in task_ids:
            try:
                store.delete(task_prefix(task_id))
            except OSError:
                log.warning("could not remove the files of deleted video task %s", task_id, exc_info=True)

    # --- tasks -------------------------------------------------------------------------------------------------
    def create_task(
        self,
        owner: str,
        index_id: str,
        *,
        url: str = "",
        data: bytes | None = None,
        filename: str = "",
        language: str | None = None,
    ) -> str:
        from medialens.core.service import JobRequest

        index = vs.get_index(self.db, owner, index_id)
        if index is None:
            raise NotFound(f"index {index_id[:64]} does not exist")
        if not url and data is None:
            raise InvalidOptions("video_file", "or video_url is required")
        if data is not None and len(data) > self.settings.video_max_bytes:
            raise InvalidOptions("video_file", f"must be at most {self.settings.video_max_bytes} bytes")
        self.core.require("video_index")
        options = {o for e in index.engines for o in e["engine_options"]}
        task_id, video_id = vs.new_id(), vs.new_id()
        blob_key = None
        if data is not None:
            blob_key = f"{task_prefix(task_id)}/video"
            open_blob_store(self.settings).put_bytes(blob_key, data)
        name = filename or (url.rsplit("/", 1)[-1].split("?", 1)[0] if url else "upload") or "video"
        vs.add_video(
            self.db,
            vs.IndexedVideo(
                id=task_id,
                video_id=video_id,
                index_id=index_id,
                app_id=owner,
                filename=name[:500],
                source_url=url,
                title="",
                info={},
                user_metadata={},
            ),
        )
        opts = self.core.options(
            "video_index",
            {
                "blob_key": blob_key,
                "filename": name,
                "visual": "visual" in options,
                "conversation": "conversation" in options,
                "text_in_video": "text_in_video" in options,
                "language": language or None,
                "thumbnails": f"{task_prefix(task_id)}/thumbs",
            },
        )
        _batch, (job_id,) = self.core.submit(owner, [JobRequest("video_index", opts, url=url)])
        vs.set_video_job(self.db, task_id, job_id)
        return task_id

    def _task_view(self, row: vs.IndexedVideo, job: Job | None) -> TaskView:
        pct = _percentage(job)
        meta = _metadata(row) if job is not None and job.state == JobState.COMPLETED else {"filename": row.filename}
        if job is not None and job.state == JobState.COMPLETED and not row.info:
            meta = self._fill_info(row, job)
        status = _status(job)
        return TaskView(
            id=row.id,
            index_id=row.index_id,
            video_id=row.video_id if status == "ready" else None,
            status=status,
            percentage=pct,
            remain_seconds=_remain(job, pct),
            metadata=meta,
            message=(job.message if job is not None and job.state == JobState.FAILED else ""),
            created_at=_iso(row.created_at),
            updated_at=_iso(job.finished_at or job.started_at or row.updated_at) if job else _iso(row.updated_at),
        )

    def _fill_info(self, row: vs.IndexedVideo, job: Job) -> dict[str, Any]:
        """A finished job's size, length and rate, copied onto the video row the first time it is read."""
        result = job.result or {}
        info = {k: result.get(k, 0) for k in ("duration", "fps", "width", "height", "size")}
        vs.update_video(self.db, row.id, info=info)
        row.info = info
        return _metadata(row)

    def task(self, owner: str, task_id: str) -> TaskView:
        found = vs.get_task_row(self.db, owner, task_id)
        if found is None:
            raise NotFound(f"task {task_id[:64]} does not exist")
        return self._task_view(*found)

    def tasks(self, owner: str, index_id: str | None, filters: dict[str, Any]) -> list[TaskView]:
        views = [self._task_view(r, j) for r, j in vs.list_video_rows(self.db, owner, index_id)]
        out = []
        for v in views:
            fields = {
                "_id": v.id,
                "index_id": v.index_id,
                "status": v.status,
                "created_at": v.created_at,
                "updated_at": v.updated_at,
            } | v.metadata
            if matches(fields, filters):
                out.append(v)
        return out

    def delete_task(self, owner: str, task_id: str) -> None:
        if vs.get_task_row(self.db, owner, task_id) is None:
            raise NotFound(f"task {task_id[:64]} does not exist")
        job_id = vs.delete_video_row(self.db, task_id)
        self._forget(owner, [task_id], [job_id] if job_id else [])

    def task_counts(self, owner: str, index_id: str) -> dict[str, int]:
        if vs.get_index(self.db, owner, index_id) is None:
            raise NotFound(f"index {index_id[:64]} does not exist")
        by = vs.count_by_state(self.db, owner, index_id)
        pending = by.get(None, 0) + by.get(JobState.INITIALIZING, 0) + by.get(JobState.RUNNING, 0)
        return {
            "ready": by.get(JobState.COMPLETED, 0),
            "validating": 0,
            "pending": pending,
            "failed": by.get(JobState.FAILED, 0),
            "total_result": sum(by.values()),
        }

    # --- videos ------------------------------------------------------------------------------------------------
    def _ready(self, owner: str, index_id: str, video_id: str) -> tuple[vs.IndexedVideo, Job]:
        found = vs.get_video_row(self.db, owner, video_id)
        if found is None or found[0].index_id != index_id or found[1] is None or found[1].state != JobState.COMPLETED:
            raise NotFound(f"video {video_id[:64]} does not exist in index {index_id[:64]}")
        return found

    def _video_view(self, row: vs.IndexedVideo, job: Job) -> VideoView:
        meta = _metadata(row) if row.info else self._fill_info(row, job)
        source = {"type": "url" if row.source_url else "file", "name": row.filename}
        if row.source_url:
            source["url"] = row.source_url
        return VideoView(
            row.video_id, row.index_id, meta, source, _iso(row.created_at), _iso(row.updated_at), _iso(job.finished_at)
        )

    def video(self, owner: str, index_id: str, video_id: str) -> VideoView:
        return self._video_view(*self._ready(owner, index_id, video_id))

    def videos(self, owner: str, index_id: str, filters: dict[str, Any]) -> list[VideoView]:
        if vs.get_index(self.db, owner, index_id) is None:
            raise NotFound(f"index {index_id[:64]} does not exist")
        filters = dict(filters)
        meta_filter = filters.pop("metadata", None)
        if isinstance(meta_filter, str):  # a client may send it JSON-encoded
            try:
                meta_filter = json.loads(meta_filter)
            except ValueError:
                raise InvalidOptions("metadata", "must be a JSON object") from None
        out = []
        for row, job in vs.list_video_rows(self.db, owner, index_id):
            if job is None or job.state != JobState.COMPLETED:
                continue
            v = self._video_view(row, job)
            fields = v.metadata | {
                "_id": v.id,
                "created_at": v.created_at,
                "updated_at": v.updated_at,
                "indexed_at": v.indexed_at,
            }
            if matches(fields, filters) and (not meta_filter or matches(v.metadata, meta_filter)):
                out.append(v)
        return out

    def update_video(self, owner: str, index_id: str, video_id: str, title: str | None, metadata: dict | None) -> None:
        row, _job = self._ready(owner, index_id, video_id)
        values: dict[str, Any] = {}
        if title is not None:
            values["title"] = str(title)[:500]
        if metadata is not None:
            if not isinstance(metadata, dict):
                raise InvalidOptions("metadata", "must be an object")
            values["user_metadata"] = (row.user_metadata or {}) | metadata
        vs.update_video(self.db, row.id, **values)

    def delete_video(self, owner: str, index_id: str, video_id: str) -> None:
        row, _job = self._ready(owner, index_id, video_id)
        job_id = vs.delete_video_row(self.db, row.id)
        self._forget(owner, [row.id], [job_id] if job_id else [])

    def timed_values(
        self, owner: str, index_id: str, video_id: str, kind: str, start: float | None, end: float | None
    ) -> list[TimedValue]:
        """The transcript (``kind`` "transcript") or on-screen text ("text_in_video") between start and end."""
        _row, job = self._ready(owner, index_id, video_id)
        items = (job.result or {}).get(kind, [])
        return [
            TimedValue(t["start"], t["end"], t["text"])
            for t in items
            if (start is None or t["end"] >= start) and (end is None or t["start"] <= end)
        ]

    def thumbnail_time(self, owner: str, index_id: str, video_id: str, at: float | None) -> float:
        """The time whose thumbnail stands for ``at`` (the video's middle when not given)."""
        _row, job = self._ready(owner, index_id, video_id)
        result = job.result or {}
        if at is None:
            return round(float(result.get("duration", 0.0)) / 2, 3)
        return at

    @staticmethod
    def _segment_at(result: dict, at: float | None) -> int:
        segs = result.get("segments", [])
        if not segs:
            return 0
        if at is None:
            return len(segs) // 2
        for k, s in enumerate(segs):
            if s["start"] <= at < s["end"]:
                return k
        return len(segs) - 1

    def thumbnail_at(self, video_id: str, at: float | None) -> bytes:
        """The JPEG of the segment showing second ``at`` of a video, by video id alone (thumbnail URLs are
        unguessable, like the service's pre-signed ones)."""
        row = vs.get_video_row_any(self.db, video_id)
        if row is None or row.job_id is None:
            raise NotFound("no such thumbnail")
        from medialens.store import jobs as job_store

        job = job_store.get_job(self.db, row.job_id)
        if job is None or job.result is None:
            raise NotFound("no such thumbnail")
        segment = self._segment_at(job.result, at)
        try:
            return open_blob_store(self.settings).get_bytes(thumbnail_key(f"{task_prefix(row.id)}/thumbs", segment))
        except (FileNotFoundError, OSError, KeyError):
            raise NotFound("no such thumbnail") from None

    # --- classify ----------------------------------------------------------------------------------------------
    def _prompt_embeddings(self, prompts: Sequence[str]) -> dict[str, np.ndarray]:
        out, missing = {}, []
        for p in prompts:
            hit = self._prompts.get(("e5", p))
            if hit is None:
                missing.append(p)
            else:
                out[p] = hit
        if missing:
            for p, e in zip(missing, evidence.embed_texts(missing, self.settings), strict=True):
                self._prompts.put(("e5", p), e)
                out[p] = e
        return out

    def _clip_text(self, prompts: Sequence[str]) -> dict[str, np.ndarray] | None:
        if not evidence.clip_available(self.settings):
            return None
        from medialens.models.loader import get_pipeline

        out: dict[str, np.ndarray] = {}
        missing = []
        for p in prompts:  # what is read is kept here: another request may evict it from the shared LRU meanwhile
            hit = self._prompts.get(("clip", p))
            if hit is None:
                missing.append(p)
            else:
                out[p] = hit
        if missing:
            m = np.asarray(get_pipeline(evidence.CLIP_MODEL, self.settings).embed_text(list(missing)), np.float32)
            m /= np.linalg.norm(m, axis=1, keepdims=True)
            for p, e in zip(missing, m, strict=True):
                self._prompts.put(("clip", p), e)
                out[p] = e
        return out

    def classify(self, owner: str, req: ClassifyRequest) -> ClassifyPageView:
        if not req.classes:
            raise InvalidOptions("classes", "must name at least one class")
        if req.index_id is not None and vs.get_index(self.db, owner, req.index_id) is None:
            raise NotFound(f"index {req.index_id[:64]} does not exist")
        try:
            return self._page(owner, req, 1)
        except ModelNotInstalledError as err:  # e5 (prompts) or CLIP's text tower missing: the protocol's own error
            raise translate(err, "classify") from err

    def classify_page(self, owner: str, token: str) -> tuple[ClassifyPageView, ClassifyRequest]:
        """The page a token names, and the request it belongs to."""
        row = vs.get_page(self.db, owner, token)
        if row is None or as_utc(row.expires_at) < utcnow():
            raise NotFound("the page token does not exist or has expired")
        req = ClassifyRequest.from_json(row.request)
        try:
            return self._page(owner, req, row.page), req
        except ModelNotInstalledError as err:
            raise translate(err, "classify") from err

    def _batch(self, job_ids: tuple[int, ...]) -> cbp.Batch:
        """The stacked evidence of these videos' jobs (cached: repeated requests over one index skip the stacking)."""
        hit = self._batches.get(job_ids)
        if hit is not None:
            return hit
        missing = [j for j in job_ids if self._evidence.get(j) is None]
        if missing:
            for job_id, result in vs.job_results(self.db, missing):
                self._evidence.put(job_id, cbp.compile_evidence(result or {}))
        batch = cbp.stack([self._evidence.get(j) or cbp.compile_evidence({}) for j in job_ids])
        self._batches.put(job_ids, batch)
        return batch

    def _fill_infos(self, rows: list[vs.ReadyVideo]) -> None:
        """Size, length and rate of finished videos not read since they finished (for filters on them)."""
        results = dict(vs.job_results(self.db, [r.job_id for r in rows]))
        for r in rows:
            result = results.get(r.job_id) or {}
            r.info.update({k: result.get(k, 0) for k in ("duration", "fps", "width", "height", "size")})
            vs.update_video(self.db, r.id, info=dict(r.info))

    def rank(self, owner: str, req: ClassifyRequest, page: int) -> tuple[list[ClassifyVideo], int]:
        """One page of the matching videos with their classes (request order for video_ids, else best first),
        and how many match in all."""
        rows = vs.ready_videos(self.db, owner, req.index_id, req.video_ids, metadata=bool(req.filter))
        if req.filter:
            self._fill_infos([r for r in rows if not r.info])
            rows = [r for r in rows if matches(_metadata(r) | {"id": r.video_id, "_id": r.video_id}, req.filter)]
        if req.video_ids:
            order = {v: i for i, v in enumerate(req.video_ids)}
            rows.sort(key=lambda r: order.get(r.video_id, 0))
        if not rows:
            return [], 0
        prompts = sorted({p for c in req.classes for p in c.prompts})
        emb = self._prompt_embeddings(prompts)
        clip_text = self._clip_text(prompts) if any("visual" in c.options for c in req.classes) else None
        batch = self._batch(tuple(r.job_id for r in rows))
        scored = cbp.score_batch(batch, req.classes, emb, clip_text=clip_text, min_clip_score=req.min_clip_score)
        score = np.stack([s.score for s in scored], axis=1)
        ratio = np.stack([s.duration_ratio for s in scored], axis=1)
        keep = (score >= req.min_video_score) & (ratio >= req.min_duration_ratio) & (score > 0)
        videos = np.nonzero(keep.any(axis=1))[0]
        if not req.video_ids:
            best = np.where(keep, score, -1).max(axis=1)
            videos = videos[np.argsort(-best[videos], kind="stable")]
        out = []
        for k in videos[(page - 1) * req.page_limit : page * req.page_limit]:
            classes = [cbp.result_of(batch, s, int(k), req.min_clip_score) for c, s in enumerate(scored) if keep[k, c]]
            cbp.normalize(classes)
            classes.sort(key=lambda c: -c.score)
            out.append(ClassifyVideo(rows[k].video_id, classes))
        return out, len(videos)

    def _page(self, owner: str, req: ClassifyRequest, page: int) -> ClassifyPageView:
        videos, total = self.rank(owner, req, page)
        limit = req.page_limit
        expires = utcnow() + timedelta(seconds=PAGE_TTL_S)
        nxt = prev = None
        if page * limit < total:
            nxt = vs.save_page(self.db, owner, req.to_json(), page + 1, expires)
        if page > 1:
            prev = vs.save_page(self.db, owner, req.to_json(), page - 1, expires)
        return ClassifyPageView(videos, limit, total, _iso(expires), nxt, prev)
