"""Tags for anime-style and AI-generated pictures (PAI ``multi_label_image_v2`` with ``model_name='tagger'``).

PAI's ``tagger_type`` picks the model. The four SmilingWolf WD14 v2 taggers are hub-tier models here
(``medialens models pull wd14-convnextv2-v2`` and so on; see ``pipelines/wd14.py``): a ``tagger_type`` whose model
is not pulled raises :class:`ModelNotInstalledError` with that pull hint. RAM, BLIP and GIT, which PAI also lists,
have no model in medialens (no offline or hub source), so they, and any other unknown value, raise the same
error: the protocol answers both as "model not found".

The answer is PAI's: ``caption`` (the top rating, then general tags over ``threshold``, then character tags over
0.85, comma separated, underscores as spaces) and ``probs`` (the model's score for every tag, in its
``selected_tags.csv`` order).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from medialens.config import Settings
from medialens.models.errors import ModelNotInstalledError
from medialens.models.loader import get_pipeline
from medialens.models.pipelines.clip import ImageLike
from medialens.models.pipelines.wd14 import TAGGER_TYPES

DEFAULT_TAGGER_TYPE = "SmilingWolf/wd-v1-4-convnextv2-tagger-v2"
"""PAI's default ``tagger_type``."""
UNSUPPORTED_TAGGER_TYPES = ("RAM", "BLIP", "GIT")
"""Listed by PAI, but no model of theirs is available to medialens."""


@dataclass(frozen=True)
class AnimeTagsResult:
    caption: str
    probs: list[float] = field(repr=False)
    tagger_type: str = DEFAULT_TAGGER_TYPE
    model: str = ""
    """The medialens model that ran (``wd14-convnextv2-v2``, ...)."""
    rating: tuple[str, float] = ("", 0.0)
    general: list[tuple[str, float]] = field(default_factory=list)
    character: list[tuple[str, float]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """PAI's ``data`` object."""
        return {"caption": self.caption, "probs": self.probs}


def tagger_model(tagger_type: str | None) -> tuple[str, str]:
    """(PAI tagger type, medialens model name) for a ``tagger_type``; None or "" mean the default.

    The repo ids match case-insensitively; a medialens model name (``wd14-vit-v2``) is accepted too. Raises
    ModelNotInstalledError for a type with no model.
    """
    wanted = (tagger_type or "").strip() or DEFAULT_TAGGER_TYPE
    for repo, name in TAGGER_TYPES.items():
        if wanted.lower() in (repo.lower(), name):
            return repo, name
    valid = ", ".join(TAGGER_TYPES)
    if wanted.upper() in UNSUPPORTED_TAGGER_TYPES:
        hint = f"tagger_type {wanted!r} has no model in medialens; available tagger types: {valid}"
    else:
        hint = f"unknown tagger_type {wanted!r}; available tagger types: {valid}"
    raise ModelNotInstalledError(wanted, hint)


def tag_anime(
    image: ImageLike, settings: Settings | None = None, tagger_type: str | None = None, threshold: float | None = None
) -> AnimeTagsResult:
    """Caption and tag probabilities of one picture.

    ``threshold`` (0-1) keeps general tags scoring above it (default: the tagger's 0.35, SmilingWolf's default).
    Raises ModelNotInstalledError (unknown tagger type, or its model not pulled) and ValueError (bad threshold).
    """
    if threshold is not None:
        t = float(threshold)
        if not math.isfinite(t) or not 0.0 <= t <= 1.0:
            raise ValueError(f"threshold must be between 0 and 1, got {threshold!r}")
        threshold = t
    repo, name = tagger_model(tagger_type)
    pipeline = get_pipeline(name, settings)
    res = pipeline.tag(image, threshold=threshold)
    return AnimeTagsResult(
        caption=res.caption,
        probs=res.probs,
        tagger_type=repo,
        model=name,
        rating=res.rating,
        general=res.general,
        character=res.character,
    )
