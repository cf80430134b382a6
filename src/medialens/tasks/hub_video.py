"""Model Hub video services: ``video_highlight`` (analyses/highlight.py) and ``video_super_resolution``
(analyses/super_resolution.py), their clips kept in the blob store; ``video_classification`` (VideoMAE, UCF101).

The clip's key is the job's own (``hub/clips/job-<id>.mp4``) so a retried job overwrites its earlier try instead
of leaving it behind; a synchronous request gets a fresh key. A clip's link expires after ``hub_clip_ttl_s``, so
the clip is removed then too (``sweep_clips``: on every new clip here, and periodically by each worker's recovery
pass), on a local folder or S3 alike.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import numpy as np
from pydantic import Field

from medialens.analyses import highlight, super_resolution
from medialens.blobs import open_blob_store
from medialens.media.audio import read_audio
from medialens.media.errors import DecodeError
from medialens.models.installed import installed
from medialens.models.loader import get_pipeline
from medialens.tasks.base import TaskContext, TaskInput, TaskSpec
from medialens.tasks.hub_clips import sweep_clips
from medialens.tasks.intake import download_video, sampled_frames
from medialens.tasks.options import Float, TaskOptions
from medialens.tasks.results import TaskResult

log = logging.getLogger(__name__)

FACE_MODEL = "dlib-face"
AUDIO_RATE = 16000


class VideoSpanOptions(TaskOptions):
    play_duration_s: Float | None = Field(
        None,
        gt=0.0,
        description="analyse only this many seconds from the start (absent: the whole video)",
        json_schema_extra={"rule": "a positive number"},
    )


class HighlightClip(TaskResult):
    key: str = Field(description="the clip in the blob store")
    start_s: float = Field(description="where the clip starts in the source")
    duration_s: float
    width: int
    height: int
    size_bytes: int
    has_audio: bool
    source_duration_s: float = Field(description="the span analysed")
    second_scores: list[float] = Field(description="each second's highlight score, 0-1")
    method: str


def _keep_clip(ctx: TaskContext, key: str, path: Path) -> None:
    """Store a new clip, and sweep the expired ones while at it (a failed sweep must not fail the job)."""
    open_blob_store(ctx.settings).put_file(key, path)
    try:
        sweep_clips(ctx.settings)
    except Exception:
        log.warning("could not remove expired Model Hub clips", exc_info=True)


def clip_key(ctx: TaskContext) -> str:
    name = f"job-{ctx.job_id}" if ctx.job_id is not None else uuid.uuid4().hex
    return f"hub/clips/{name}.mp4"


def _faces(ctx: TaskContext):
    from medialens.models.pipelines.faces import FaceRequest

    pipe = get_pipeline(FACE_MODEL, ctx.settings)
    return lambda rgb: len(pipe(FaceRequest(rgb, embed=False)))


def _audio_db(path, span_s: float, has_audio: bool) -> np.ndarray | None:
    if not has_audio:
        return None
    try:
        samples = read_audio(path, sample_rate=AUDIO_RATE, max_seconds=span_s)
    except DecodeError:  # a broken audio track: judge the pictures alone
        return None
    return highlight.audio_levels(samples, AUDIO_RATE, span_s)


def video_highlight(ctx: TaskContext, given: TaskInput, opts: VideoSpanOptions) -> HighlightClip:
    path, info = download_video(ctx, given.url, media=given.media)
    span = info.duration_s if info.duration_s > 0 else float("inf")
    if opts.play_duration_s is not None:
        span = min(span, opts.play_duration_s)
    if not np.isfinite(span):
        raise DecodeError("video could not be decoded: its duration is unknown")
    ctx.report("video analyzing")
    frames = sampled_frames(path, info, ctx.settings, highlight.SAMPLE_FPS, exact=False)
    try:
        best = highlight.choose(frames, span, _faces(ctx), _audio_db(path, span, info.has_audio))
    finally:
        frames.close()
    ctx.report("clip encoding")
    threads = ctx.settings.decode_threads
    clip = highlight.cut_clip(path, ctx.workdir / "clip.mp4", best.start_s, best.duration_s, threads)
    key = clip_key(ctx)
    _keep_clip(ctx, key, clip.path)
    return HighlightClip(
        key=key,
        start_s=best.start_s,
        duration_s=clip.duration_s,
        width=clip.width,
        height=clip.height,
        size_bytes=clip.path.stat().st_size,
        has_audio=clip.has_audio,
        source_duration_s=round(span, 3),
        second_scores=best.scores,
        method=highlight.METHOD,
    )


SR_MODEL = "realesrgan-x2"
SR_HUB_METHOD = "Real-ESRGAN x2plus (ONNX, tiled), re-encoded with PyAV (H.264/AAC)"


class UpscaledVideo(TaskResult):
    key: str = Field(description="the up-scaled clip in the blob store")
    width: int
    height: int
    source_width: int
    source_height: int
    duration_s: float
    frames: int
    has_audio: bool
    method: str = Field(description="how the frames were up-scaled (a model, or the classical method)")


def _span(path, info, opts: VideoSpanOptions) -> float:
    span = info.duration_s if info.duration_s > 0 else float("inf")
    if opts.play_duration_s is not None:
        span = min(span, opts.play_duration_s)
    if not np.isfinite(span):
        raise DecodeError("video could not be decoded: its duration is unknown")
    return span


def _upscaler(ctx: TaskContext) -> tuple[super_resolution.FrameUpscaler, str]:
    """Real-ESRGAN when the hub model is installed, else the classical method."""
    if installed(SR_MODEL, ctx.settings):
        return get_pipeline(SR_MODEL, ctx.settings), SR_HUB_METHOD
    return super_resolution.classical, super_resolution.CLASSICAL_METHOD


def video_super_resolution(ctx: TaskContext, given: TaskInput, opts: VideoSpanOptions) -> UpscaledVideo:
    path, info = download_video(ctx, given.url, media=given.media)
    span = _span(path, info, opts)
    upscale, method = _upscaler(ctx)
    ctx.report("video up-scaling")
    every = max(1, int(info.fps or 25))
    clip = super_resolution.upscale_video(
        path, ctx.workdir / "upscaled.mp4", span, upscale, threads=ctx.settings.decode_threads,
        report=lambda n: ctx.report(f"video up-scaling: {n} frames") if n % every == 0 else None,
    )  # fmt: skip
    name = f"job-{ctx.job_id}" if ctx.job_id is not None else uuid.uuid4().hex
    key = f"hub/super_resolution/{name}.mp4"
    _keep_clip(ctx, key, clip.path)
    return UpscaledVideo(
        key=key,
        width=clip.width,
        height=clip.height,
        source_width=clip.source_width,
        source_height=clip.source_height,
        duration_s=clip.duration_s,
        frames=clip.frames,
        has_audio=clip.has_audio,
        method=method,
    )


CLASSIFY_MODEL = "videomae-base-ucf101"
CLASSIFY_SAMPLES = 64
"""Frames decoded over the span, of which the model's 16 are taken evenly."""


class VideoClass(TaskResult):
    class_name: str = Field(description="the most probable UCF101 action")
    top: list[tuple[str, float]] = Field(description="the five most probable actions with their probabilities")
    model: str


def video_classification(ctx: TaskContext, given: TaskInput, opts: VideoSpanOptions) -> VideoClass:
    path, info = download_video(ctx, given.url, media=given.media)
    span = _span(path, info, opts)
    fps = max(0.5, CLASSIFY_SAMPLES / span)
    frames = sampled_frames(path, info, ctx.settings, fps, exact=False, report=ctx.report)
    try:
        rgbs = [f.rgb for f in frames if f.t < span]
    finally:
        frames.close()
    if not rgbs:
        raise DecodeError("video could not be decoded: no frame in the span to classify")
    out = get_pipeline(CLASSIFY_MODEL, ctx.settings)(rgbs)
    order = np.argsort(-out.probs, kind="stable")[:5]
    return VideoClass(
        class_name=out.names[order[0]],
        top=[(out.names[i], round(float(out.probs[i]), 6)) for i in order],
        model=CLASSIFY_MODEL,
    )


HUB_VIDEO_SPECS = (
    TaskSpec("video_highlight", "video", video_highlight, VideoSpanOptions, HighlightClip, (FACE_MODEL,),
             "the best 5 seconds as a clip (Model Hub)"),
    TaskSpec("video_super_resolution", "video", video_super_resolution, VideoSpanOptions, UpscaledVideo, (),
             "the video up-scaled x2: Real-ESRGAN with the hub model, else Lanczos + unsharp mask (Model Hub)"),
    TaskSpec("video_classification", "video", video_classification, VideoSpanOptions, VideoClass, (CLASSIFY_MODEL,),
             "the UCF101 action a video shows, by VideoMAE (Model Hub)"),
)  # fmt: skip
