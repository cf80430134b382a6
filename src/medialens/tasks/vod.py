"""VOD AI tasks on registered media: smart tagging (AIVideoTag) and video fingerprinting (AIMediaDNA).

Their input is a medium of the library (``url`` = ``blob:<key>`` of the probed file in the blob store); the core
fills ``media_id`` and ``account`` (the fingerprint library is per account), never the wire.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field, StrictStr, field_validator

from medialens.blobs import open_blob_store
from medialens.media.errors import FetchError
from medialens.media.types import VideoInfo
from medialens.media.video import probe_video
from medialens.tasks.base import TaskContext, TaskInput
from medialens.tasks.intake import sampled_frames
from medialens.tasks.options import TaskOptions
from medialens.tasks.results import TaskResult

ANALYSE_TYPES = ("face", "ocr", "asr", "category", "keyword")
TAG_MODELS = ("mobilenet-v2", "nanodet", "e5-small-q4", "ppocr-v4", "dlib-face", "whisper-base")
TAG_FPS = 1.0
DNA_MODELS = ("mobilenet-v2",)


class VodMediaOptions(TaskOptions):
    media_id: StrictStr = Field("", description="the medium of the library (set by the core)")
    account: StrictStr = Field("", description="the account whose library is used (set by the core)")


class AIImageOptions(VodMediaOptions):
    ai_job_id: StrictStr = Field("", description="the VOD job (set by the core)")
    count: int = Field(5, ge=1, le=10, description="how many images", json_schema_extra={"rule": "from 1 to 10"})


class CoverImage(BaseModel):
    info_id: str
    key: str
    score: float
    time_s: float


class AIImages(TaskResult):
    images: list[CoverImage] = Field(default_factory=list)


class DynamicImageOptions(VodMediaOptions):
    ai_job_id: StrictStr = Field("", description="the VOD job (set by the core)")
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
        method=found.method,
    )


def media_dna(ctx: TaskContext, given: TaskInput, opts: VodMediaOptions) -> MediaDna:
    """Fingerprint the medium, match it against the account's library, then add it to the library."""
    from medialens.analyses import fingerprint as fp
    from medialens.store import vod as vod_store
    from medialens.store.vod_tables import Fingerprint as FingerprintRow

    path, info = library_video(ctx, given)
    ctx.report("video fingerprinting")
    # every sample at the fingerprint's rate, however long the video: alignment needs one time scale
    uncapped = ctx.settings.model_copy(update={"video_max_frames": int(info.duration_s * fp.SAMPLE_FPS) + 2})
    mine = fp.fingerprint(sampled_frames(path, info, uncapped, fp.SAMPLE_FPS), ctx.settings)
    db = _db(ctx.settings)
    index = fp.FingerprintIndex()  # rebuilt per job from the store: a resident per-worker index is the next step
    for row in vod_store.fingerprints(db, opts.account, exclude=opts.media_id):
        index.add(row.media_id, fp.Fingerprint.from_bytes(row.vectors, row.fps, row.dim))
    matches = [
        DnaMatch(media_id=key, similarity=found.similarity, segments=[Segment(**vars(s)) for s in found.segments])
        for key, found in index.query(mine, exclude=opts.media_id)
    ]
    if opts.account and opts.media_id:
        vod_store.put_fingerprint(
            db,
            FingerprintRow(
                app_id=opts.account, media_id=opts.media_id, fps=mine.fps, dim=fp.DIM, vectors=mine.to_bytes()
            ),
        )
    return MediaDna(matches=matches, frames=mine.frames, method=fp.METHOD)


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
