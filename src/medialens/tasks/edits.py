"""Image-editing and tagger tasks: body reshaping, watermark removal, anime-style tags (WD14).

Edited images come back as base64-encoded JPEG (what the PAI seed returns in ``data``); results are
protocol-neutral dicts.
"""

from __future__ import annotations

import base64
import io
from typing import Any

from PIL import Image

from medialens.analyses.anime_tags import tag_anime
from medialens.analyses.body_reshape import reshape_body
from medialens.analyses.watermark import remove_watermarks
from medialens.tasks.base import TaskContext, UnprocessableError
from medialens.tasks.intake import fetch_image

JPEG_QUALITY = 95


def encode_jpeg(image: Image.Image) -> str:
    buf = io.BytesIO()
    image.convert("RGB").save(buf, "JPEG", quality=JPEG_QUALITY)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def body_reshape(ctx: TaskContext, inputs: dict[str, Any]) -> dict[str, Any]:
    degree = inputs.get("options", {}).get("degree", -1.5)
    result = reshape_body(fetch_image(inputs["url"], ctx.settings), degree, ctx.settings)
    if not result.applied and result.degree != 0:
        raise UnprocessableError(f"body reshaping not applied: {result.reason}")
    return {"image": encode_jpeg(result.image), "degree": result.degree}


def watermark_remove(ctx: TaskContext, inputs: dict[str, Any]) -> dict[str, Any]:
    result = remove_watermarks(fetch_image(inputs["url"], ctx.settings), ctx.settings)
    return {
        "image": encode_jpeg(result.image),
        "regions": [{"box": list(r.box), "text": r.text} for r in result.regions],
        "method": result.method,
    }


def anime_tags(ctx: TaskContext, inputs: dict[str, Any]) -> dict[str, Any]:
    opts = inputs.get("options", {})
    result = tag_anime(
        fetch_image(inputs["url"], ctx.settings), ctx.settings, opts.get("tagger_type"), opts.get("threshold")
    )
    return {"caption": result.caption, "probs": [float(p) for p in result.probs], "model": result.model}
