"""Image and video quality tasks (PAI ImageQA / VideoQA)."""

from __future__ import annotations

from typing import Any

from medialens.analyses.image_quality import ImageQualityResult, assess_image
from medialens.analyses.video_quality import VideoQualityResult, assess_video
from medialens.config import Settings
from medialens.media.fetch import fetch_bytes
from medialens.media.images import load_image
from medialens.media.video import iter_frames
from medialens.tasks.base import TaskContext
from medialens.tasks.intake import download_video
from medialens.tasks.models_cache import niqe_model

# Frames for quality are analysed at this size: NIQE statistics are stable there and it keeps video real-time.
QUALITY_FRAME_SIDE = 512


def sample_rate(duration_s: float, settings: Settings) -> float:
    """Frames per second to sample so that at most ``video_max_frames`` frames span the whole video."""
    if duration_s <= 0:
        return settings.video_sample_fps
    return min(settings.video_sample_fps, settings.video_max_frames / duration_s)


def image_quality(ctx: TaskContext, inputs: dict[str, Any]) -> ImageQualityResult:
    data = fetch_bytes(inputs["url"], max_bytes=ctx.settings.image_max_bytes, settings=ctx.settings)
    image = load_image(data, settings=ctx.settings)
    return assess_image(image, niqe_model(ctx.settings))


def video_quality(ctx: TaskContext, inputs: dict[str, Any]) -> VideoQualityResult:
    path, info = download_video(ctx, inputs["url"])
    ctx.report("video analyzing")
    frames = iter_frames(
        path,
        sample_fps=sample_rate(info.duration_s, ctx.settings),
        max_frames=ctx.settings.video_max_frames,
        max_side=QUALITY_FRAME_SIDE,
    )
    return assess_video(info, frames, niqe_model(ctx.settings))
