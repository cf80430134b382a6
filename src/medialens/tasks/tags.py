"""Tagging and classification tasks: image tags + embedding, video classification, multimodal posts."""

from __future__ import annotations

from typing import Any

import numpy as np

from medialens.analyses.image_tags import Tag, tag_image
from medialens.analyses.multimodal import classify_post
from medialens.analyses.video_classify import ClassScore, classify_video
from medialens.tasks.base import TaskContext, TaskInput
from medialens.tasks.intake import download_video, fetch_image, input_image, sampled_frames
from medialens.tasks.options import ClassifyOptions, ImageTagsOptions
from medialens.tasks.results import Classification, ImageTags, Label

TAG_MODELS = ("mobilenet-v2", "nanodet", "e5-small-q4")


def _labels(items: list[Tag] | list[ClassScore]) -> list[Label]:
    return [Label(name=i.name, score=float(i.score), zh=i.zh) for i in items]


def _vector(v: np.ndarray | None) -> list[float] | None:
    return None if v is None else [float(x) for x in np.asarray(v, dtype=np.float64)]


def image_tags(ctx: TaskContext, given: TaskInput, opts: ImageTagsOptions) -> ImageTags:
    result = tag_image(input_image(given, ctx.settings), ctx.settings, top_k=opts.tag_top_k)
    return ImageTags(
        width=result.width,
        height=result.height,
        method=result.method,
        tags=_labels(result.tags),
        embedding=_vector(result.embedding) if opts.output_embedding else None,
    )


def _switches(opts: ClassifyOptions) -> dict[str, Any]:
    """The analyses' keyword arguments for what the options switch on."""
    return {
        "classification_top_k": opts.classification_top_k,
        "tag_top_k": opts.tag_top_k,
        "want_classes": opts.output_classification,
        "want_tags": opts.output_tag,
        "want_embedding": opts.output_embedding,
    }


def _classified(
    result: Any, opts: ClassifyOptions, embedding: np.ndarray | None, video: tuple[Any, Any, Any]
) -> Classification:
    """Classes, tags and embedding as switched on, plus the video's size and duration (None without a video)."""
    width, height, duration = video
    return Classification(
        classes=_labels(result.classes) if opts.output_classification else None,
        tags=_labels(result.tags) if opts.output_tag else None,
        embedding=_vector(embedding) if opts.output_embedding else None,
        width=width,
        height=height,
        duration_s=duration,
        method=result.method,
    )


def video_classify(ctx: TaskContext, given: TaskInput, opts: ClassifyOptions) -> Classification:
    path, info = download_video(ctx, given.url, media=given.media)
    ctx.report("video analyzing")
    result = classify_video(
        sampled_frames(path, info, ctx.settings, ctx.settings.video_classify_fps, exact=False, report=ctx.report),
        info,
        given.title,
        ctx.settings,
        **_switches(opts),
    )
    return _classified(result, opts, result.embedding64, (result.width, result.height, result.duration))


def multimodal(ctx: TaskContext, given: TaskInput, opts: ClassifyOptions) -> Classification:
    video = None
    if given.url or given.media:
        path, info = download_video(ctx, given.url, media=given.media)
        frames = sampled_frames(
            path, info, ctx.settings, ctx.settings.video_classify_fps, exact=False, report=ctx.report
        )
        video = (info, frames)
    ctx.report("images downloading")
    images = [fetch_image(url, ctx.settings) for url in given.images]
    ctx.report("post analyzing")
    result = classify_post(video, images, given.text, ctx.settings, **_switches(opts))
    return _classified(result, opts, result.embedding32, (result.video_width, result.video_height, result.duration))
