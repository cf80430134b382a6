"""What ``analyze_faces`` returns: protocol-neutral dataclasses (protocols/ name the fields their own way)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FemaleHairStyle:
    bangs_type: dict[str, float]
    curly_hair_type: dict[str, float]
    hair_type: dict[str, float]
    long_short_hair: dict[str, float]
    tied_hair: float
    braided_hair: float


@dataclass(frozen=True)
class FaceAttributes:
    index: int
    """0.. in left-to-right order (by the box centre)."""
    bbox: tuple[int, int, int, int]
    """[xmin, ymin, xmax, ymax], clipped to the image."""
    face_score: float
    face_shape: dict[str, float]
    hair_color: dict[str, float]
    female_hair_style: FemaleHairStyle
    male_hair_style: dict[str, float]
    method: str
    cues: dict[str, float] = field(default_factory=dict)
    """The measurements the heuristic probabilities rest on (empty for CLIP)."""


@dataclass(frozen=True)
class FaceAttributesResult:
    faces: list[FaceAttributes]
    method: str
    width: int
    height: int
