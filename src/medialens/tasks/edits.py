"""Image-editing and tagger tasks: body reshaping, watermark removal, anime-style tags (WD14).

Edited images come back as base64-encoded JPEG (what the PAI seed returns in ``data``); results are
protocol-neutral dicts.
"""

from __future__ import annotations

import base64
import io

from PIL import Image

from medialens.analyses.anime_tags import tag_anime
from medialens.analyses.body_reshape import reshape_body
from medialens.analyses.watermark import remove_watermarks
from medialens.tasks.base import TaskContext, TaskInput, UnprocessableError
from medialens.tasks.intake import input_image
from medialens.tasks.options import BodyReshapeOptions, TaggerOptions, TaskOptions
from medialens.tasks.results import AnimeTags, BodyReshape, TextRegion, WatermarkRemoval

JPEG_QUALITY = 95


def encode_jpeg(image: Image.Image) -> str:
    buf = io.BytesIO()
    image.convert("RGB").save(buf, "JPEG", quality=JPEG_QUALITY)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def body_reshape(ctx: TaskContext, given: TaskInput, opts: BodyReshapeOptions) -> BodyReshape:
    result = reshape_body(input_image(given, ctx.settings), opts.degree, ctx.settings)
    if not result.applied and result.degree != 0:
        raise UnprocessableError(f"body reshaping not applied: {result.reason}")
    return BodyReshape(image=encode_jpeg(result.image), degree=result.degree)


def watermark_remove(ctx: TaskContext, given: TaskInput, _opts: TaskOptions) -> WatermarkRemoval:
    result = remove_watermarks(input_image(given, ctx.settings), ctx.settings)
    return WatermarkRemoval(
        image=encode_jpeg(result.image),
        regions=[TextRegion(box=r.box, text=r.text) for r in result.regions],
        method=result.method,
    )


def anime_tags(ctx: TaskContext, given: TaskInput, opts: TaggerOptions) -> AnimeTags:
    result = tag_anime(input_image(given, ctx.settings), ctx.settings, opts.tagger_type, opts.threshold)
    return AnimeTags(caption=result.caption, probs=[float(p) for p in result.probs], model=result.model)
