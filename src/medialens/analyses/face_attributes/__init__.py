"""Face attributes (face shape, hair colour, hair style) of every face, and the age range of the main face.

**Two methods.** When the hub model ``clip-vit-b32`` is installed every group is CLIP's zero-shot softmax over
prompts on a head crop (``METHOD_CLIP``, :mod:`.clip_groups`). Otherwise (``METHOD_HEURISTIC``) the groups come
from measurements, not from a trained attribute classifier: they are **honest heuristics** — face shape from the
face mesh (:mod:`.geometry`), hair region, colour, length and style from pixels (:mod:`.hair`). The measured
cues are returned (``FaceAttributes.cues``) so a caller can see what the probabilities rest on.

One module per concern: ``labels`` (what is reported, in order), ``scoring`` (measurements → probabilities),
``geometry``, ``hair``, ``clip_groups``, ``age`` (:func:`estimate_age_range`), ``results`` (the dataclasses) and
``analyze`` (:func:`analyze_faces`, :func:`hair_masks`: find the faces, pick the method, assemble the results).
"""

from __future__ import annotations

from medialens.analyses.face_attributes.age import AgeRangeResult, estimate_age_range
from medialens.analyses.face_attributes.analyze import analyze_faces, hair_masks
from medialens.analyses.face_attributes.clip_groups import clip_installed
from medialens.analyses.face_attributes.labels import (
    AGE_MODEL,
    AGE_RANGES,
    BANGS_TYPES,
    CLIP_MODEL,
    CURLY_TYPES,
    FACE_MODEL,
    FACE_SHAPES,
    HAIR_COLORS,
    HAIR_LENGTHS,
    HAIR_TYPES,
    MALE_STYLES,
    MESH_MODEL,
    METHOD_CLIP,
    METHOD_HEURISTIC,
    SEG_MODEL,
)
from medialens.analyses.face_attributes.results import FaceAttributes, FaceAttributesResult, FemaleHairStyle

__all__ = [
    "AGE_MODEL",
    "AGE_RANGES",
    "BANGS_TYPES",
    "CLIP_MODEL",
    "CURLY_TYPES",
    "FACE_MODEL",
    "FACE_SHAPES",
    "HAIR_COLORS",
    "HAIR_LENGTHS",
    "HAIR_TYPES",
    "MALE_STYLES",
    "MESH_MODEL",
    "METHOD_CLIP",
    "METHOD_HEURISTIC",
    "SEG_MODEL",
    "AgeRangeResult",
    "FaceAttributes",
    "FaceAttributesResult",
    "FemaleHairStyle",
    "analyze_faces",
    "clip_installed",
    "estimate_age_range",
    "hair_masks",
]
