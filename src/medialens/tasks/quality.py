"""Image and video quality tasks (PAI ImageQA / VideoQA)."""

from __future__ import annotations

from medialens.analyses.image_quality import assess_image
from medialens.analyses.video_quality import assess_video
from medialens.models.loader import get_pipeline
from medialens.tasks.base import TaskContext, TaskInput
from medialens.tasks.intake import download_video, input_image, sampled_frames
from medialens.tasks.options import TaskOptions
from medialens.tasks.results import ImageQuality, VideoQuality


def image_quality(ctx: TaskContext, given: TaskInput, _opts: TaskOptions) -> ImageQuality:
    result = assess_image(input_image(given, ctx.settings), get_pipeline("niqe", ctx.settings).model)
    return ImageQuality(width=result.width, height=result.height, score=result.score)


def video_quality(ctx: TaskContext, given: TaskInput, _opts: TaskOptions) -> VideoQuality:
    path, info = download_video(ctx, given.url, media=given.media)
    ctx.report("video analyzing")
    frames = sampled_frames(path, info, ctx.settings, report=ctx.report)
    r = assess_video(info, frames, get_pipeline("niqe", ctx.settings).model)
    return VideoQuality(
        score=r.score,
        fps=r.fps,
        duration_s=r.duration_s,
        static_similarity=r.static_similarity,
        width=r.width,
        height=r.height,
    )
