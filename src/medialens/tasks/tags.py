"""Tagging and classification tasks: image tags + embedding, video classification, multimodal posts.

Results are protocol-neutral JSON: tags and classes as ``{"name", "score", "zh"}`` lists, embeddings as float
lists (protocols decide how to print them).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from medialens.analyses.image_tags import Tag, tag_image
from medialens.analyses.multimodal import classify_post
from medialens.analyses.video_classify import ClassScore, classify_video
from medialens.tasks.base import TaskContext
from medialens.tasks.intake import download_video, fetch_image, sampled_frames

TAG_MODELS = ("mobilenet-v2", "nanodet", "e5-small-q4")


def _labels(items: list[Tag] | list[ClassScore]) -> list[dict[str, Any]]:
    return [{"name": i.name, "score": float(i.score), "zh": i.zh} for i in items]


def _vector(v: np.ndarray | None) -> list[float] | None:
    return None if v is None else [float(x) for x in np.asarray(v, dtype=np.float64)]


def image_tags(ctx: TaskContext, inputs: dict[str, Any]) -> dict[str, Any]:
    opts = inputs.get("options", {})
    result = tag_image(fetch_image(inputs["url"], ctx.settings), ctx.settings, top_k=opts.get("tag_top_k", 10))
    return {
        "width": result.width,
        "height": result.height,
        "method": result.method,
        "tags": _labels(result.tags),
        "embedding": _vector(result.embedding) if opts.get("output_embedding", True) else None,
    }


def _classify_options(opts: dict[str, Any]) -> dict[str, Any]:
    return {
        "classification_top_k": opts.get("classification_top_k", 1),
        "tag_top_k": opts.get("tag_top_k", 5),
        "want_classes": opts.get("output_classification", True),
        "want_tags": opts.get("output_tag", True),
        "want_embedding": opts.get("output_embedding", True),
    }


def _classified(
    result: Any, opts: dict[str, Any], embedding: np.ndarray | None, video: tuple[Any, Any, Any]
) -> dict[str, Any]:
    """Classes, tags and embedding as switched on, plus the video's size and duration (None without a video)."""
    width, height, duration = video
    return {
        "classes": _labels(result.classes) if opts["want_classes"] else None,
        "tags": _labels(result.tags) if opts["want_tags"] else None,
        "embedding": _vector(embedding) if opts["want_embedding"] else None,
        "width": width,
        "height": height,
        "duration": duration,
        "method": result.method,
    }


def video_classify(ctx: TaskContext, inputs: dict[str, Any]) -> dict[str, Any]:
    opts = _classify_options(inputs.get("options", {}))
    path, info = download_video(ctx, inputs["url"])
    ctx.report("video analyzing")
    result = classify_video(
        sampled_frames(path, info, ctx.settings, ctx.settings.video_classify_fps, exact=False),
        info,
        inputs.get("title", ""),
        ctx.settings,
        **opts,
    )
    return _classified(result, opts, result.embedding64, (result.width, result.height, result.duration))


def multimodal(ctx: TaskContext, inputs: dict[str, Any]) -> dict[str, Any]:
    opts = _classify_options(inputs.get("options", {}))
    video = None
    if inputs.get("url"):
        path, info = download_video(ctx, inputs["url"])
        video = (info, sampled_frames(path, info, ctx.settings, ctx.settings.video_classify_fps, exact=False))
    ctx.report("images downloading")
    images = [fetch_image(url, ctx.settings) for url in inputs.get("images", [])]
    ctx.report("post analyzing")
    result = classify_post(video, images, inputs.get("text", ""), ctx.settings, **opts)
    return _classified(result, opts, result.embedding32, (result.video_width, result.video_height, result.duration))
