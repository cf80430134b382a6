"""Options and results of the Model Hub tasks (protocol-neutral: the EAS field names are the protocol's)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from medialens.tasks.options import Int, TaskOptions
from medialens.tasks.results import TaskResult


class _Item(BaseModel):
    model_config = ConfigDict(frozen=True)


# --- options ----------------------------------------------------------------------------------------------------------
class CompareOptions(TaskOptions):
    metric: Literal["L2", "Cosine"] = Field(
        "L2", description="how two images are compared", json_schema_extra={"rule": '"L2" or "Cosine"'}
    )


class TextVectorOptions(TaskOptions):
    sequence_length: Int = Field(
        128, ge=1, le=512, description="tokens read at most", json_schema_extra={"rule": "an integer from 1 to 512"}
    )
    second_sequence: StrictStr = Field(
        "",
        max_length=100_000,
        description="a second text, read after the first",
        json_schema_extra={"rule": "a string"},
    )


# --- results ----------------------------------------------------------------------------------------------------------
class ImageClass(TaskResult):
    class_id: int
    class_name: str
    probs: dict[str, float] = Field(description="every class's probability, by name")
    model: str


class DetectedObject(_Item):
    box: tuple[float, float, float, float] = Field(description="x_min, y_min, x_max, y_max in pixels")
    score: float
    class_id: int = Field(description="1-based class id of the model's label set")
    name: str


class Detections(TaskResult):
    width: int
    height: int
    objects: list[DetectedObject]
    counts: dict[str, int] = Field(default_factory=dict, description="objects per class name")
    model: str


class TextLine(_Item):
    corners: list[tuple[float, float]] = Field(description="four (x, y) corners clockwise from the top-left")
    text: str
    score: float
    char_ids: list[int]


class TextLines(TaskResult):
    width: int
    height: int
    lines: list[TextLine]
    model: str


class Foreground(TaskResult):
    width: int
    height: int
    ratio: float = Field(description="share of the pixels that are foreground (a person)")
    mask_bits: str = Field(
        description="the [height][width] mask (1 foreground), row-major, packed 8 pixels a byte (numpy.packbits), "
        "base64"
    )
    model: str


class Scenes(TaskResult):
    top: list[tuple[int, str]] = Field(description="the five best (class id, name), best first")
    probs: dict[str, float]
    model: str


class Similarity(TaskResult):
    similarity: float = Field(description="0-100: 100 the same, under 80 different")
    cosine: float
    l2_distance: float
    model: str


class FaceSimilarity(TaskResult):
    similarity: int = Field(description="0-100: 100 the same person, under 80 different people")
    distance: float = Field(description="Euclidean distance of the embeddings (under 0.6: the same person)")
    model: str


class FaceProperties(_Item):
    box: tuple[float, float, float, float] = Field(description="x_min, y_min, x_max, y_max in pixels")
    score: float = Field(description="0-1: the logistic of the face detector's margin (0.5 at its threshold)")
    age: float
    gender: str
    emotion: str


class FacePropertiesResult(TaskResult):
    faces: list[FaceProperties]
    model: str


class TextVectors(TaskResult):
    pool: list[float] = Field(description="the sentence vector")
    first_token: list[float] | None = Field(None, description="the first token's hidden state, when the model has it")
    hidden: list[list[float]] | None = Field(None, description="every token's hidden state, when the model has it")
    tokens: int
    model: str


class Rle(_Item):
    size: tuple[int, int] = Field(description="height, width")
    counts: list[int] = Field(description="row-major run lengths, starting with a run of background (0 or more)")


class Instances(TaskResult):
    width: int
    height: int
    objects: list[DetectedObject]
    masks: list[Rle]
    model: str


class Segments(TaskResult):
    width: int
    height: int
    classes: list[list[int]] = Field(description="[height][width] class index per pixel")
    probs: list[list[float]] = Field(description="[height][width] probability of that class")
    names: list[str]
    model: str


class EditedImage(TaskResult):
    image: str = Field(description="base64 JPEG")
    width: int
    height: int
    faces: int | None = Field(None, description="faces restored (face enhancement)")
    model: str
