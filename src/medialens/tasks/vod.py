"""VOD AI tasks on registered media: smart tagging (AIVideoTag) and video fingerprinting (AIMediaDNA).

Their input is a medium of the library (``url`` = ``blob:<key>`` of the probed file in the blob store); the core
fills ``media_id`` and ``account`` (the fingerprint library is per account), never the wire.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, Field, StrictStr, field_validator

from medialens.blobs import open_blob_store
from medialens.config import Settings
from medialens.media.errors import FetchError
from medialens.media.types import Frame, VideoInfo
from medialens.media.video import probe_video
from medialens.models.pipelines.ocr_v5 import OCR_MODEL
from medialens.tasks.base import TaskContext, TaskInput
from medialens.tasks.intake import sampled_frames
from medialens.tasks.options import SERVER_SET, TaskOptions
from medialens.tasks.results import TaskResult

ANALYSE_TYPES = ("face", "ocr", "asr", "category", "keyword")
TAG_MODELS = ("mobilenet-v2", "nanodet", "e5-small-q4", OCR_MODEL, "dlib-face", "whisper-base")
TAG_FPS = 1.0
DNA_MODELS = ("mobilenet-v2",)


class VodMediaOptions(TaskOptions):
    media_id: StrictStr = Field(
        "", description="the medium of the library (set by the core)", json_schema_extra=SERVER_SET
    )
    account: StrictStr = Field(
        "", description="the account whose library is used (set by the core)", json_schema_extra=SERVER_SET
    )


class AIImageOptions(VodMediaOptions):
    ai_job_id: StrictStr = Field("", description="the VOD job (set by the core)", json_schema_extra=SERVER_SET)
    count: int = Field(5, ge=1, le=10, description="how many images", json_schema_extra={"rule": "from 1 to 10"})


class CoverImage(BaseModel):
    info_id: str
    key: str
    score: float
    time_s: float


class AIImages(TaskResult):
    images: list[CoverImage] = Field(default_factory=list)


class DynamicImageOptions(VodMediaOptions):
    ai_job_id: StrictStr = Field("", description="the VOD job (set by the core)", json_schema_extra=SERVER_SET)
    duration_s: float = Field(3.0, ge=1.0, le=10.0, json_schema_extra={"rule": "from 1 to 10 seconds"})
    fps: float = Field(8.0, ge=1.0, le=15.0, json_schema_extra={"rule": "from 1 to 15"})
    width: int = Field(320, ge=64, le=720, json_schema_extra={"rule": "from 64 to 720 pixels"})


class DynamicImageResult(TaskResult):
    image_id: str
    key: str
    start_s: float
    duration_s: float
    fps: float
    width: int
    height: int
    file_size: int


class VideoTagOptions(VodMediaOptions):
    analyse_types: list[StrictStr] = Field(
        default_factory=lambda: list(ANALYSE_TYPES),
        description="what to analyse",
        json_schema_extra={"rule": "a comma-separated list of face, ocr, asr, category, keyword"},
    )

    @field_validator("analyse_types")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        if not value or any(v not in ANALYSE_TYPES for v in value):
            raise ValueError("unknown analyse type")
        return value


class TimedTag(BaseModel):
    tag: str
    times: list[float] = Field(default_factory=list, description="seconds from the start where the tag occurs")


class PersonTag(TimedTag):
    face_url: str = Field("", description="blob key of the person's best face crop")


class VideoTags(TaskResult):
    categories: list[str] = Field(default_factory=list)
    keywords: list[TimedTag] = Field(default_factory=list)
    persons: list[PersonTag] = Field(default_factory=list)
    locations: list[TimedTag] = Field(default_factory=list)
    times: list[TimedTag] = Field(default_factory=list)
    method: str = ""


class Segment(BaseModel):
    input_start: float
    input_duration: float
    dup_start: float
    dup_duration: float


class DnaMatch(BaseModel):
    media_id: str
    similarity: float
    segments: list[Segment] = Field(default_factory=list)


class MediaDna(TaskResult):
    matches: list[DnaMatch] = Field(default_factory=list)
    frames: int = 0
    method: str = ""
    # the account's fingerprints an earlier recipe made, left out of matching (fingerprint those media again)
    not_compared: int = 0


def source_key(media_id: str) -> str:
    """Where a registered medium's file lives in the blob store."""
    return f"vod/{media_id}/source"


def cover_jpeg(frames) -> bytes | None:
    """The first well-exposed, detailed frame among the first seconds (never a black or flat one) as JPEG."""
    import io

    from PIL import Image

    best, best_score = None, -1.0
    for frame in frames:
        gray = frame.rgb.mean(axis=2)
        mean, std = float(gray.mean()), float(gray.std())
        score = std * (1.0 if 30 < mean < 225 else 0.2)
        if score > best_score:
            best, best_score = frame.rgb, score
    if best is None:
        return None
    out = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(best)).save(out, format="JPEG", quality=85)
    return out.getvalue()


def store_media(settings, media_id: str, path: Path) -> list[str]:
    """Keep a probed video and its cover frame in the blob store; returns the keys written (source first, then the
    cover when one was found)."""
    from medialens.media.video import iter_frames

    store = open_blob_store(settings)
    cover = cover_jpeg(iter_frames(path, sample_fps=1.0, max_frames=8, max_side=640, threads=1))
    kept: list[str] = []
    try:
        store.put_file(source_key(media_id), path)
        kept.append(source_key(media_id))
        if cover is not None:
            store.put_bytes(f"vod/{media_id}/cover.jpg", cover)
            kept.append(f"vod/{media_id}/cover.jpg")
    except Exception:
        for key in kept:
            store.delete(key)
        raise
    return kept


def probed_fields(info: VideoInfo, kept: list[str]) -> dict[str, Any]:
    """A medium's stored facts from its probe and the keys ``store_media`` wrote (the cover second, when found)."""
    return dict(
        cover_key=kept[1] if len(kept) > 1 else None,
        duration_s=round(info.duration_s, 3),
        size=info.size_bytes,
        width=info.width,
        height=info.height,
        fps=round(info.fps, 3),
    )


class Registered(TaskResult):
    media_id: str
    duration: float
    size: int
    width: int
    height: int
    fps: float


def register(ctx: TaskContext, given: TaskInput, opts: VodMediaOptions) -> Registered:
    """RegisterMedia in the background: fetch the URL, probe it (a bad file fails the job with the reason, and the
    medium reads as UploadFail), keep it and its cover, then mark the medium Normal. A medium deleted meanwhile
    gets nothing written (what was stored is removed)."""
    from medialens.store import vod as vod_store
    from medialens.tasks.intake import download_video

    path, info = download_video(ctx, given.url)
    ctx.report("video storing")
    kept = store_media(ctx.settings, opts.media_id, path)
    ctx.outputs.extend(kept)  # dropped by the runner if the job is cancelled meanwhile
    values = probed_fields(info, kept)
    try:
        finished = vod_store.finish_registration(_db(ctx.settings), opts.media_id, ctx.job_id, **values)
    except Exception:
        finished = False
        raise
    finally:
        if not finished:
            store = open_blob_store(ctx.settings)
            for key in kept:
                store.delete(key)
    if not finished:
        raise FetchError("the medium was deleted while it was being registered (or is not this job's)")
    return Registered(
        media_id=opts.media_id,
        duration=values["duration_s"],
        size=info.size_bytes,
        width=info.width,
        height=info.height,
        fps=values["fps"],
    )


def library_video(ctx: TaskContext, given: TaskInput) -> tuple[Path, VideoInfo]:
    """The library medium of a job, copied from the blob store into the job's folder and probed."""
    if not given.url.startswith("blob:"):
        raise FetchError("not a medium of the library")
    key = given.url[len("blob:") :]
    store = open_blob_store(ctx.settings)
    if not store.exists(key):
        raise FetchError("the medium's file is gone (deleted?)")
    ctx.report("video loading")
    path = store.get_file(key, ctx.scratch() / "video")
    return path, probe_video(path, settings=ctx.settings)


@cache
def _database(url: str):
    from medialens.store.db import Database

    return Database(url)


def _db(settings):
    return _database(settings.resolved_database_url)


def _face_library(settings) -> list[tuple[str, np.ndarray]]:
    from medialens.store import vod as vod_store

    return [(f.name, np.frombuffer(f.embedding, dtype=np.float32)) for f in vod_store.faces(_db(settings))]


def video_tag(ctx: TaskContext, given: TaskInput, opts: VideoTagOptions) -> VideoTags:
    from medialens.analyses.video_tags import tag_video

    path, info = library_video(ctx, given)
    ctx.report("video analyzing")
    frames = list(sampled_frames(path, info, ctx.settings, TAG_FPS))
    found = tag_video(path, info, frames, ctx.settings, set(opts.analyse_types), lambda: _face_library(ctx.settings))
    store = open_blob_store(ctx.settings)
    persons = []
    for i, person in enumerate(found.persons):
        key = f"vod/{opts.media_id or 'x'}/faces/{ctx.job_id or 0}-{i}.jpg"
        store.put_bytes(key, person.face_jpeg)
        persons.append(PersonTag(tag=person.tag, times=person.times, face_url=key))
    return VideoTags(
        categories=found.categories,
        keywords=[TimedTag(tag=k.tag, times=k.times) for k in found.keywords],
        persons=persons,
        locations=[TimedTag(tag=k.tag, times=k.times) for k in found.locations],
        times=[TimedTag(tag=k.tag, times=k.times) for k in found.times],
        method=found.method,
    )


def dna_frames(path: Path, info: VideoInfo, settings: Settings) -> Iterator[Frame]:
    """The frames a fingerprint is made of: every sample at the fingerprint's rate however long the video (alignment
    needs one time scale), decoded straight to the fingerprint's small size, without deblocking (the descriptors do
    not notice; decoding is a tenth cheaper).

    One decoding thread: the network's batches already keep every core busy, and FFmpeg's frame threads cost CPU
    of their own (the 2-fps decode of a 15-s 720p clip: 0.28 CPU-s on one thread, 0.42 on FFmpeg's default)."""
    from medialens.analyses import fingerprint as fp

    frames = int(info.duration_s * fp.SAMPLE_FPS) + 2
    uncapped = settings.model_copy(update={"video_max_frames": frames, "decode_threads": 1})
    return sampled_frames(path, info, uncapped, fp.SAMPLE_FPS, exact=False, max_side=fp.FRAME_SIDE)


def media_dna(ctx: TaskContext, given: TaskInput, opts: VodMediaOptions) -> MediaDna:
    """Fingerprint the medium, match it against the account's library, then add it to the library."""
    from medialens.analyses import fingerprint as fp
    from medialens.tasks import dna_library

    path, info = library_video(ctx, given)
    ctx.report("video fingerprinting")
    mine = fp.fingerprint(dna_frames(path, info, ctx.settings), ctx.settings)
    db = _db(ctx.settings)
    found = dna_library.matches(db, opts.account, mine, exclude=opts.media_id) if opts.account else []
    matches = [
        DnaMatch(media_id=key, similarity=match.similarity, segments=[Segment(**vars(s)) for s in match.segments])
        for key, match in found
    ]
    if opts.account and opts.media_id:
        dna_library.put(db, opts.account, opts.media_id, mine)
    stale = dna_library.stale(db, opts.account) if opts.account else 0
    return MediaDna(matches=matches, frames=mine.frames, method=fp.METHOD, not_compared=stale)


def ai_image(ctx: TaskContext, given: TaskInput, opts: AIImageOptions) -> AIImages:
    """AI-chosen cover images, kept as PNG files and listed in the store (ListAIImageInfo)."""
    import io
    import uuid

    from PIL import Image

    from medialens.analyses.covers import choose_covers
    from medialens.store import vod as vod_store
    from medialens.store.vod_tables import AIImageInfo

    path, info = library_video(ctx, given)
    ctx.report("video analyzing")
    frames = list(sampled_frames(path, info, ctx.settings, 1.0))
    store = open_blob_store(ctx.settings)
    images, rows = [], []
    for cover in choose_covers(frames, ctx.settings, opts.count):
        info_id = uuid.uuid4().hex
        key = f"vod/{opts.media_id or 'x'}/ai/{info_id}.png"
        out = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(cover.rgb)).save(out, format="PNG")
        store.put_bytes(key, out.getvalue())
        images.append(CoverImage(info_id=info_id, key=key, score=cover.score, time_s=round(cover.t, 3)))
        rows.append(
            AIImageInfo(
                info_id=info_id,
                app_id=opts.account,
                media_id=opts.media_id,
                ai_job_id=opts.ai_job_id,
                blob_key=key,
                score=cover.score,
                time_s=round(cover.t, 3),
                format="png",
            )
        )
    if opts.account and rows:
        vod_store.add_image_infos(_db(ctx.settings), rows)
    return AIImages(images=images)


def dynamic_image(ctx: TaskContext, given: TaskInput, opts: DynamicImageOptions) -> DynamicImageResult:
    """An animated GIF of the video's best moment: the window starting at the best-scored cover frame."""
    import io
    import uuid

    from PIL import Image

    from medialens.analyses.covers import choose_covers
    from medialens.media.video import iter_frames
    from medialens.store import vod as vod_store
    from medialens.store.vod_tables import DynamicImage

    path, info = library_video(ctx, given)
    ctx.report("video analyzing")
    best = choose_covers(list(sampled_frames(path, info, ctx.settings, 1.0)), ctx.settings, 1)
    start = max(0.0, min(best[0].t if best else 0.0, info.duration_s - opts.duration_s))
    shots = []
    for frame in iter_frames(path, sample_fps=opts.fps, max_side=opts.width, threads=1):
        if frame.t >= start + opts.duration_s:
            break
        if frame.t >= start:
            shots.append(Image.fromarray(np.ascontiguousarray(frame.rgb)))
    if not shots:
        raise FetchError("no frames to animate")
    out = io.BytesIO()
    shots[0].save(out, format="GIF", save_all=True, append_images=shots[1:], duration=int(1000 / opts.fps), loop=0)
    image_id = uuid.uuid4().hex
    key = f"vod/{opts.media_id or 'x'}/dynamic/{image_id}.gif"
    open_blob_store(ctx.settings).put_bytes(key, out.getvalue())
    result = DynamicImageResult(
        image_id=image_id,
        key=key,
        start_s=round(start, 3),
        duration_s=round(len(shots) / opts.fps, 3),
        fps=opts.fps,
        width=shots[0].width,
        height=shots[0].height,
        file_size=out.tell(),
    )
    if opts.account:
        vod_store.add_dynamic_image(
            _db(ctx.settings),
            DynamicImage(
                image_id=image_id,
                app_id=opts.account,
                media_id=opts.media_id,
                ai_job_id=opts.ai_job_id,
                blob_key=key,
                fps=opts.fps,
                width=result.width,
                height=result.height,
                duration_s=result.duration_s,
                file_size=result.file_size,
            ),
        )
    return result
