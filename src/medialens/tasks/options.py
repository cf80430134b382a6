"""Each task's options model: defaults, types and ranges in one place, whatever protocol the values came in by.

PAI's ``configure`` and the native API's ``options`` both validate against these models (through
``medialens.core``), so a range is written once. Types follow the Go service's rules: an integer option accepts
5 or 5.0 but not "5" or 5.5, a boolean only true/false, a number no NaN. Every constraint carries a ``rule`` in
words, which each protocol puts into its own error message ("configure.tag_top_k must be an integer from 1 to
10").
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictStr


def _number(value: Any) -> Any:
    """Numbers only: pydantic's lax mode would also take "5" and True."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("not a number")
    return value


def _int_option(default: int, low: int, high: int, doc: str) -> Any:
    return Field(
        default, ge=low, le=high, description=doc, json_schema_extra={"rule": f"an integer from {low} to {high}"}
    )


def _flag(default: bool, doc: str) -> Any:
    return Field(default, description=doc, json_schema_extra={"rule": "true or false"})


Int = Annotated[int, BeforeValidator(_number)]
Float = Annotated[float, BeforeValidator(_number)]


SERVER_SET: dict[str, Any] = {"set_by": "server"}
"""``json_schema_extra`` of an option only the server fills (a blob key, an account): a request that names it is
refused by the strict protocols (``Core.options(strict=True)``), so no client can point a task at another's data."""


class TaskOptions(BaseModel):
    """Options of a task that takes none; the base of every options model."""

    model_config = ConfigDict(extra="ignore", frozen=True, allow_inf_nan=False)

    @classmethod
    def server_set(cls) -> frozenset[str]:
        """The options only the server fills (marked with ``SERVER_SET``)."""
        return frozenset(
            name
            for name, info in cls.model_fields.items()
            if isinstance(info.json_schema_extra, dict) and info.json_schema_extra.get("set_by") == "server"
        )

    @classmethod
    def rule(cls, field: str) -> str:
        """The constraint of ``field`` in words (for error messages)."""
        info = cls.model_fields.get(field)
        extra = info.json_schema_extra if info is not None else None
        return str(extra.get("rule", "valid")) if isinstance(extra, dict) else "valid"


class ImageTagsOptions(TaskOptions):
    tag_top_k: Int = _int_option(10, 1, 10, "how many tags to return")
    output_embedding: StrictBool = _flag(True, "whether to return the 512-d image embedding")


class ClassifyOptions(TaskOptions):
    """Video classification and multimodal posts share these."""

    output_classification: StrictBool = _flag(True, "whether to return categories")
    classification_top_k: Int = _int_option(1, 1, 10, "how many categories to return")
    output_tag: StrictBool = _flag(True, "whether to return tags")
    tag_top_k: Int = _int_option(5, 1, 10, "how many tags to return")
    output_embedding: StrictBool = _flag(True, "whether to return the embedding")


class TaggerOptions(TaskOptions):
    threshold: Float | None = Field(
        None, ge=0.0, le=1.0, description="tag probability cut-off", json_schema_extra={"rule": "a number from 0 to 1"}
    )
    tagger_type: StrictStr | None = Field(
        None, max_length=128, description="which WD14 tagger to run", json_schema_extra={"rule": "a string"}
    )


class BodyReshapeOptions(TaskOptions):
    degree: Float = Field(
        -1.5,
        ge=-10.0,
        le=10.0,
        description="> 0 slims, < 0 enlarges",
        json_schema_extra={"rule": "a number from -10 to 10"},
    )


class TranscribeOptions(TaskOptions):
    language: StrictStr | None = Field(
        None,
        pattern=r"^[a-z]{2,3}$",
        description="the spoken language as an ISO 639-1 code (en, zh, ...); detected when not given",
        json_schema_extra={"rule": "a language code such as en or zh"},
    )
    translate: StrictBool = _flag(False, "whether to translate the speech into English instead of transcribing it")
