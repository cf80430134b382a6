"""Each task's typed, protocol-neutral result.

Tasks return these; jobs store them as JSON (``model_dump(mode="json")``) and ``medialens.core`` reads stored
results back into them, so every protocol formats the same typed object in its own wire shape. Field names say
what a value is, not what one protocol calls it.
"""

from __future__ import annotations

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

# A face's attributes are the analysis' own dataclasses (one definition; pydantic validates and dumps them).
from medialens.analyses.face_attributes.results import FaceAttributes, FemaleHairStyle  # noqa: F401 - re-exported


class TaskResult(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Label(BaseModel):
    """A tag or category: English name, 0-1 score, Chinese name where the vocabulary has one."""

    model_config = ConfigDict(frozen=True)

    name: str
    score: float
    zh: str = ""


class ImageQuality(TaskResult):
    width: int
    height: int
    score: float = Field(description="no-reference quality, 0-100")


class VideoQuality(TaskResult):
    score: float = Field(description="no-reference quality of the sampled frames, 0-100")
    fps: int = Field(description="the stream's mean frame rate, rounded")
    duration_s: float
    static_similarity: float = Field(description="median SSIM of consecutive samples: ~1 for stills, low for motion")
    width: int
    height: int


class ImageTags(TaskResult):
    width: int
    height: int
    method: str
    tags: list[Label]
    embedding: list[float] | None = None


class Classification(TaskResult):
    """Categories, tags and an embedding of a video or post; parts switched off by the options are None."""

    classes: list[Label] | None = None
    tags: list[Label] | None = None
    embedding: list[float] | None = None
    width: int | None = None
    height: int | None = None
    duration_s: float | None = Field(None, validation_alias=AliasChoices("duration_s", "duration"))
    method: str = ""


class Faces(TaskResult):
    faces: list[FaceAttributes]
    method: str


class AgeRange(TaskResult):
    age_range: str
    age_range_prob: float
    age: float = Field(description="the model's expected age in years")


class BodyReshape(TaskResult):
    image: str = Field(description="base64 JPEG")
    degree: float


class TextRegion(BaseModel):
    model_config = ConfigDict(frozen=True)

    box: tuple[int, int, int, int]
    text: str


class WatermarkRemoval(TaskResult):
    image: str = Field(description="base64 JPEG")
    regions: list[TextRegion]
    method: str


class AnimeTags(TaskResult):
    caption: str
    probs: list[float]
    model: str


class TimedText(BaseModel):
    """A stretch of the media, in seconds from its start, and what is said (or shown) there."""

    model_config = ConfigDict(frozen=True)

    start: float
    end: float
    text: str


class Transcript(TaskResult):
    text: str
    language: str = Field(description="the language spoken (ISO 639-1), detected unless given")
    language_probability: float
    segments: list[TimedText]
    duration_s: float = Field(description="the audio decoded (at most video_max_duration_s)")
    speech_s: float = Field(description="of which voice activity detection kept as speech")
    method: str
