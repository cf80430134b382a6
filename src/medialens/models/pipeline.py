"""The shape every model takes: preprocess → forward → postprocess (as Hugging Face pipelines and immich do).

``preprocess`` turns one input (decoded arrays or images, never a file path: media/ decodes) into model-ready
arrays, ``forward`` runs the network on a *batch* of preprocessed items (``run_batch`` sends one caller's several
items through one call), and ``postprocess`` turns one raw output back into a typed result. Pipelines are built
from an installed model directory by ``medialens.models.loader`` and cached there; analyses never construct them
directly.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from medialens.config import Settings

In = TypeVar("In")
Pre = TypeVar("Pre")
Out = TypeVar("Out")


class Pipeline(ABC, Generic[In, Pre, Out]):
    """A loaded model. Subclasses set ``model_name`` (the registry spec) and implement the three steps."""

    model_name: ClassVar[str]
    max_batch_size: ClassVar[int] = 8
    """Largest batch ``forward`` accepts; 1 for models whose graph has a fixed batch of one."""

    def __init__(self, model_dir: Path, settings: Settings) -> None:
        self.model_dir = model_dir
        self.settings = settings

    @abstractmethod
    def preprocess(self, item: In) -> Pre: ...

    @abstractmethod
    def forward(self, batch: Sequence[Pre]) -> Sequence[Any]:
        """Run the network on preprocessed items; returns one raw output per item, in order."""

    @abstractmethod
    def postprocess(self, raw: Any, item: In, pre: Pre) -> Out: ...

    def __call__(self, item: In) -> Out:
        pre = self.preprocess(item)
        (raw,) = self.forward([pre])
        return self.postprocess(raw, item, pre)

    def run_batch(self, items: Sequence[In]) -> list[Out]:
        """Several items through one forward per ``max_batch_size`` chunk."""
        pres = [self.preprocess(i) for i in items]
        outs: list[Out] = []
        for start in range(0, len(pres), self.max_batch_size):
            chunk = pres[start : start + self.max_batch_size]
            raws = self.forward(chunk)
            outs.extend(
                self.postprocess(r, items[start + k], p) for k, (r, p) in enumerate(zip(raws, chunk, strict=True))
            )
        return outs

    def close(self) -> None:
        """Free runtime resources (called when the cache evicts the pipeline)."""
