"""The ``video_index`` task: one durable job per uploaded video; its stored result is the video's evidence."""

from __future__ import annotations

import io
import time
from dataclasses import asdict

import numpy as np
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

from medialens.analyses.video_index import VISUAL_MODELS, index_video
from medialens.blobs import open_blob_store
from medialens.media.video import probe_video
from medialens.tasks.base import TaskContext, TaskInput
from medialens.tasks.intake import download_video, sampled_frames
from medialens.tasks.options import SERVER_SET, TaskOptions
from medialens.tasks.results import TaskResult

INDEX_MODELS = VISUAL_MODELS
INDEX_SAMPLE_FPS = 2.0
"""Samples per second for videos up to SHORT_VIDEO_S (gestures need a few samples a second)."""
SHORT_VIDEO_S = 12.0
LONG_VIDEO_FPS = 1.0


class VideoIndexOptions(TaskOptions):
    model_config = ConfigDict(extra="ignore")

    blob_key: str | None = Field(
        None, description="an uploaded video kept in the blob store (instead of the URL)", json_schema_extra=SERVER_SET
    )
    filename: str = Field("", json_schema_extra=SERVER_SET)
    thumbnails: str | None = Field(
        None, description="blob-store prefix for one JPEG per segment", json_schema_extra=SERVER_SET
    )
    visual: bool = True
    conversation: bool = True
    text_in_video: bool = True
    language: str | None = None


class TimedTextResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    start: float
    end: float
    text: str
    embedding: list[float]


class SegmentResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    start: float
    end: float
    embedding: list[float] = Field(description="visual evidence in e5 text space (ConSE + descriptors), unit")
    plain_embedding: list[float] | None = Field(None, description="the ConSE part alone (without descriptors)")
    clip_embedding: list[float] | None = None
    classes: list[tuple[str, float]] = Field(default_factory=list)
    objects: dict[str, float] = Field(default_factory=dict)
    faces: int = 0
    descriptors: dict[str, float] = Field(default_factory=dict)
    shot: int = 0


class VideoIndexResult(TaskResult):
    duration: float
    fps: float
    width: int
    height: int
    size: int
    segments: list[SegmentResult]
    transcript: list[TimedTextResult] = Field(default_factory=list)
    text_in_video: list[TimedTextResult] = Field(default_factory=list)
    language: str = ""
    method: str = ""
    timings: dict[str, float] = Field(default_factory=dict)
    speed: float = Field(0.0, description="indexing speed: video seconds per second of work")


def video_index(ctx: TaskContext, given: TaskInput, opts: VideoIndexOptions) -> VideoIndexResult:
    started = time.perf_counter()
    if opts.blob_key:
        ctx.report("video downloading 0%")
        path = open_blob_store(ctx.settings).get_file(opts.blob_key, ctx.scratch() / "video")
        ctx.staged.append(opts.blob_key)  # the runner removes the upload once the job is finished
        info = probe_video(path, settings=ctx.settings)
    else:
        path, info = download_video(ctx, given.url, media=given.media)
    ctx.report("indexing 1%")
    fps = INDEX_SAMPLE_FPS if info.duration_s <= SHORT_VIDEO_S else LONG_VIDEO_FPS
    frames = list(sampled_frames(path, info, ctx.settings, fps))
    ev = index_video(
        frames,
        info,
        path,
        ctx.settings,
        visual=opts.visual,
        conversation=opts.conversation,
        text_in_video=opts.text_in_video,
        language=opts.language,
        progress=lambda p: ctx.report(f"indexing {max(1, min(99, round(p * 100)))}%"),
    )
    if opts.thumbnails and frames:
        ctx.outputs.append(opts.thumbnails)
        _save_thumbnails(ctx, opts.thumbnails, frames, [(s.start, s.end) for s in ev.segments])
    elapsed = time.perf_counter() - started
    data = asdict(ev)
    return VideoIndexResult(
        duration=round(ev.duration, 3),
        fps=round(float(info.fps or 0.0), 3),
        width=info.width,
        height=info.height,
        size=info.size_bytes,
        segments=data["segments"],
        transcript=data["transcript"],
        text_in_video=data["text_in_video"],
        language=ev.language,
        method=ev.method,
        timings=ev.timings | {"total_s": round(elapsed, 3)},
        speed=round(ev.duration / elapsed, 2) if elapsed > 0 else 0.0,
    )


def thumbnail_key(prefix: str, segment: int) -> str:
    return f"{prefix}/{segment}.jpg"


def _save_thumbnails(ctx: TaskContext, prefix: str, frames: list, spans: list[tuple[float, float]]) -> None:
    """One JPEG per segment (the sample nearest its middle), for the thumbnail URLs classify hands out."""
    store = open_blob_store(ctx.settings)
    times = np.array([f.t for f in frames])
    for k, (a, b) in enumerate(spans):
        frame = frames[int(np.abs(times - (a + b) / 2).argmin())]
        buf = io.BytesIO()
        Image.fromarray(frame.rgb).save(buf, format="JPEG", quality=80)
        store.put_bytes(thumbnail_key(prefix, k), buf.getvalue())
