"""Request and response bodies of the native API (pydantic; they make up the ``/v1`` part of the OpenAPI)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from medialens.core import ModelInfo

MAX_URL = 4096
MAX_TITLE = 1000
MAX_TEXT = 20_000
MAX_IMAGES = 20
MAX_BATCH = 100
MAX_OPTIONS = 32
MAX_ID = 2**63 - 1
MAX_PAGE = 200
MEDIA_ID = r"^[0-9a-f]{32}$"


def _no_nul(value: str) -> str:
    # No URL or title holds a NUL, and PostgreSQL text cannot store one.
    if "\x00" in value:
        raise ValueError("must not contain a NUL character")
    return value


def _http(value: str) -> str:
    # Only the web: other schemes (blob:, file:) name the server's own storage, which is never a client's to name.
    if value and not value.lower().startswith(("http://", "https://")):
        raise ValueError("must be an http:// or https:// URL")
    return value


Url = Annotated[
    str,
    Field(min_length=1, max_length=MAX_URL, description="http(s) URL of the media"),
    AfterValidator(_no_nul),
    AfterValidator(_http),
]
TaskName = Annotated[str, Field(min_length=1, max_length=64, description="a task name from GET /v1/tasks")]
Options = Annotated[
    dict[str, Any],
    Field(
        default_factory=dict,
        max_length=MAX_OPTIONS,
        description="task options; the accepted keys and ranges depend on the task (unknown keys are refused)",
    ),
]


def validation_message(errors: Sequence[Any]) -> str:
    """pydantic's errors as one short line: "field: problem; ..." (at most five)."""
    parts = []
    for e in list(errors)[:5]:
        loc = ".".join(str(p) for p in e.get("loc", ()) if p != "body")
        parts.append(f"{loc}: {e.get('msg', 'invalid')}" if loc else str(e.get("msg", "invalid")))
    return "; ".join(parts)[:1000] or "invalid request"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(_Model):
    code: str = Field(
        description="machine-readable: unauthorized, invalid_request, invalid_options, "
        "task_not_found, model_not_found, job_not_found, batch_not_found, bad_media, "
        "media_too_large, request_too_large, too_many_streams, unprocessable, analysis_failed"
    )
    message: str


class ErrorResponse(_Model):
    error: ErrorDetail


class TaskInfo(_Model):
    name: str
    media_kind: str = Field(
        description='"image" (POST /v1/analyze/{task}), "video" or "audio" (POST /v1/jobs; audio tasks also take a'
        ' video\'s sound track), "text"'
    )
    summary: str
    available: bool = Field(description="whether every model the task needs is installed")
    options: dict[str, Any] = Field(description="JSON schema of the task's options (names, defaults, ranges)")


class TaskList(_Model):
    tasks: list[TaskInfo]


class ModelList(_Model):
    models: list[ModelInfo]  # the core's model view: one definition of a model's status


class AnalyzeRequest(_Model):
    """The image by URL or as base64 (exactly one of them); uploads go as multipart/form-data instead."""

    url: Url | None = None
    base64: Annotated[str, Field(min_length=1, description="the image file, base64-encoded")] | None = None
    options: Options

    @model_validator(mode="after")
    def _one_source(self) -> AnalyzeRequest:
        if (self.url is None) == (self.base64 is None):
            raise ValueError("give exactly one of url and base64")
        return self


class AnalyzeResponse(_Model):
    task: str
    result: Any = Field(description="the task's result (the same JSON a job stores)")


class JobCreate(_Model):
    task: TaskName
    url: Annotated[
        str,
        Field(max_length=MAX_URL, description="http(s) media URL (may be empty when images or media are given)"),
        AfterValidator(_no_nul),
        AfterValidator(_http),
    ] = ""
    title: Annotated[str, Field(max_length=MAX_TITLE), AfterValidator(_no_nul)] = ""
    text: Annotated[str, Field(max_length=MAX_TEXT), AfterValidator(_no_nul)] = ""
    images: Annotated[list[Url], Field(max_length=MAX_IMAGES)] = []
    media: Annotated[str, Field(pattern=MEDIA_ID, description="an id from POST /v1/media, instead of url")] | None = (
        None
    )
    options: Options

    @model_validator(mode="after")
    def _media_given(self) -> JobCreate:
        if not self.url and not self.images and not self.media:
            raise ValueError("url, media or images is required")
        if self.url and self.media:
            raise ValueError("give url or media, not both")
        return self


class JobAccepted(_Model):
    id: int
    state: int = Field(description="0: queued")


class JobView(_Model):
    id: int
    task: str
    state: int = Field(description="0 initializing, 1 running, 2 completed, 3 failed")
    state_name: str
    message: str
    created_at: str = Field(description="ISO-8601, UTC")
    batch_id: int | None = None
    result: Any = Field(description="the result once completed, else null")


class JobPage(_Model):
    jobs: list[JobView] = Field(description="newest first")
    next: int | None = Field(description="pass as `before` for the next page; null on the last page")


class MediaStored(_Model):
    id: str = Field(description="name it as `media` in POST /v1/jobs")
    size: int


class BatchCreate(_Model):
    items: Annotated[list[JobCreate], Field(min_length=1, max_length=MAX_BATCH)]


class BatchAccepted(_Model):
    id: int
    job_ids: list[int]


class BatchView(_Model):
    id: int
    jobs: list[JobView]


class AppView(_Model):
    app_id: str
    name: str
    created_at: str = Field(description="ISO-8601, UTC")


class AppList(_Model):
    apps: list[AppView]


class AppCreate(_Model):
    name: Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_no_nul)]


class AppCreated(AppView):
    token: str = Field(description="shown once: keep it")


class ServiceInfo(_Model):
    name: str = Field(description="the service's name: POST /api/predict/{name} with the eas-prediction client")
    model: str = Field(description="the Model Hub model it serves")
    description: str = Field(description="the real model that runs, and what it does not do")
    deployed: bool = Field(description="whether the weights it needs are installed")
    hint: str | None = Field(None, description="how to install what is missing")
    created_at: str


class ServiceList(_Model):
    services: list[ServiceInfo]


class VodKeyView(_Model):
    access_key_id: str
    account: str = Field(description="the account (app id) whose media library the key reaches")
    created_at: str


class VodKeyList(_Model):
    keys: list[VodKeyView]


class VodKeyCreate(_Model):
    account: Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_no_nul)] | None = Field(
        None, description="add the key to this existing account; default: a new account"
    )


class VodKeyCreated(VodKeyView):
    access_key_secret: str = Field(description="shown once: keep it")


class ApiKeyView(_Model):
    prefix: str = Field(description="the key's first characters (the key itself is not stored)")
    created_at: str


class ApiKeyList(_Model):
    api_keys: list[ApiKeyView]


class ApiKeyCreated(ApiKeyView):
    api_key: str = Field(description="shown once: Twelve Labs clients send it as x-api-key")


class ServiceCreate(_Model):
    model: Annotated[str, Field(min_length=1, max_length=64, description="a Model Hub model (GET /v1/services)")]
    name: Annotated[str, Field(min_length=1, max_length=64)] | None = Field(
        None, description="the service name; default: the model's name"
    )


class ServiceCreated(ServiceInfo):
    token: str = Field(description="shown once (rotate to replace it): the eas-prediction client's token")


class HubModelView(_Model):
    model: str
    description: str
    deployable: bool = Field(description="whether the weights it needs are installed")
    hint: str | None = Field(None, description="how to install what is missing")


class HubModelList(_Model):
    models: list[HubModelView]
