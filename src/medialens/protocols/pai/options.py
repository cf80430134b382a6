"""The ``configure`` object of each PAI service: defaults and ranges from the seed, checked before any work.

A bad value is the client's mistake and answers 400 PARAMETER_ERROR at once (for async services too, instead of a
job that fails later).
"""

from __future__ import annotations

from typing import Any

from medialens.protocols.pai import errors


def _int(cfg: dict[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = cfg.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value or not low <= value <= high:
        raise errors.parameter_error(f"configure.{key} must be an integer from {low} to {high}")
    return int(value)


def _bool(cfg: dict[str, Any], key: str, default: bool) -> bool:
    value = cfg.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise errors.parameter_error(f"configure.{key} must be true or false")
    return value


def _float(cfg: dict[str, Any], key: str, default: float | None, low: float, high: float) -> float | None:
    value = cfg.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise errors.parameter_error(f"configure.{key} must be a number from {low} to {high}")
    return float(value)


def _str(cfg: dict[str, Any], key: str) -> str | None:
    value = cfg.get(key)
    if value is not None and not isinstance(value, str):
        raise errors.parameter_error(f"configure.{key} must be a string")
    return value


def image_tags(cfg: dict[str, Any]) -> dict[str, Any]:
    return {"tag_top_k": _int(cfg, "tag_top_k", 10, 1, 10), "output_embedding": _bool(cfg, "output_embedding", True)}


def classify(cfg: dict[str, Any]) -> dict[str, Any]:
    """ClassifyLabelVideo and MultiModalClassify share these."""
    return {
        "output_classification": _bool(cfg, "output_classification", True),
        "classification_top_k": _int(cfg, "classification_top_k", 1, 1, 10),
        "output_tag": _bool(cfg, "output_tag", True),
        "tag_top_k": _int(cfg, "tag_top_k", 5, 1, 10),
        "output_embedding": _bool(cfg, "output_embedding", True),
    }


def tagger(cfg: dict[str, Any]) -> dict[str, Any]:
    return {"threshold": _float(cfg, "threshold", None, 0.0, 1.0), "tagger_type": _str(cfg, "tagger_type")}


def body_reshaping(cfg: dict[str, Any]) -> dict[str, Any]:
    return {"degree": _float(cfg, "degree", -1.5, -10.0, 10.0)}


def no_options(_cfg: dict[str, Any]) -> dict[str, Any]:
    return {}


# task name → parser of its configure object
PARSERS = {
    "image_tags": image_tags,
    "video_classify": classify,
    "multimodal": classify,
    "anime_tags": tagger,
    "body_reshape": body_reshaping,
}


def parse(task: str, cfg: dict[str, Any] | None) -> dict[str, Any]:
    return PARSERS.get(task, no_options)(cfg or {})
