"""Image and video quality tasks (PAI ImageQA / VideoQA)."""

from __future__ import annotations

from typing import Any

from medialens.analyses.image_quality import ImageQualityResult, assess_image
from medialens.analyses.video_quality import VideoQualityResult, assess_video
from medialens.models.loader import get_pipeline
from medialens.tasks.base import TaskContext
from medialens.tasks.intake import download_video, fetch_image, sampled_frames


def image_quality(ctx: TaskContext, inputs: dict[str, Any]) -> ImageQualityResult:
    return assess_image(fetch_image(inputs["url"], ctx.settings), get_pipeline("niqe", ctx.settings).model)


def video_quality(ctx: TaskContext, inputs: dict[str, Any]) -> VideoQualityResult:
    path, info = download_video(ctx, inputs["url"])
    ctx.report("video analyzing")
    return assess_video(info, sampled_frames(path, info, ctx.settings), get_pipeline("niqe", ctx.settings).model)
