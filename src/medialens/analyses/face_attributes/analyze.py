"""Face attributes of every face in an image: find the faces, then CLIP zero-shot groups or measured heuristics.

Faces come from ``dlib-face`` (MediaPipe full-range detector); every face whose reported box is at least
``min_face`` pixels on both sides gets the attribute groups as probability dicts. ``bbox`` is the union of the
detector's box and the extent of the 468-point face mesh (the box may stop short of the upper forehead; the mesh
reaches it), clipped to the image; ``index`` numbers the faces left to right; ``face_score`` is the detector's
probability.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from medialens.analyses.face_attributes.clip_groups import clip_group_probs, clip_installed, head_crop
from medialens.analyses.face_attributes.geometry import box_points, face_shape_probs, measure_geometry
from medialens.analyses.face_attributes.hair import hair_color_probs, hair_style_groups, measure_hair, to_lab
from medialens.analyses.face_attributes.labels import (
    BANGS_TYPES,
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
from medialens.analyses.face_attributes.scoring import distribution
from medialens.config import Settings
from medialens.models.loader import get_pipeline
from medialens.models.pipelines.faces import Face, as_rgb_array


def face_box(face: Face, points: np.ndarray | None, w: int, h: int) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = face.bbox
    if points is not None:
        x0, y0 = min(x0, float(points[:, 0].min())), min(y0, float(points[:, 1].min()))
        x1, y1 = max(x1, float(points[:, 0].max())), max(y1, float(points[:, 1].max()))
    return (
        int(max(0, math.floor(x0))),
        int(max(0, math.floor(y0))),
        int(min(w, math.ceil(x1))),
        int(min(h, math.ceil(y1))),
    )


@dataclass
class Found:
    face: Face
    points: np.ndarray | None
    bbox: tuple[int, int, int, int]


def find_faces(image: np.ndarray, settings: Settings, min_face: int) -> list[Found]:
    from medialens.models.pipelines.mediapipe_models import FaceMeshRequest

    faces: list[Face] = get_pipeline(FACE_MODEL, settings).run_batch([image])[0]
    if not faces:
        return []
    meshes = get_pipeline(MESH_MODEL, settings).run_batch([FaceMeshRequest(image, faces)])[0]
    h, w = image.shape[:2]
    found = []
    for face, mesh in zip(faces, meshes, strict=True):
        points = np.asarray(mesh.points, np.float64) if mesh.score >= 0.5 else None
        box = face_box(face, points, w, h)
        if box[2] - box[0] >= min_face and box[3] - box[1] >= min_face:
            found.append(Found(face, points, box))
    found.sort(key=lambda f: (f.bbox[0] + f.bbox[2]) / 2)
    return found


def hair_masks(image: Image.Image | np.ndarray, settings: Settings, min_face: int = 100) -> list[np.ndarray]:
    """The heuristic hair mask (H x W bool) of every face ``analyze_faces`` reports (left to right), skipping a
    face the mesh lost."""
    rgb = as_rgb_array(image)
    found = [f for f in find_faces(rgb, settings, min_face) if f.points is not None]
    if not found:
        return []
    person = get_pipeline(SEG_MODEL, settings).run_batch([rgb])[0] > 0.5
    lab = to_lab(rgb)
    return [measure_hair(rgb, lab, person, f.points, measure_geometry(f.points)).mask for f in found]


def analyze_faces(
    image: Image.Image | np.ndarray, settings: Settings, min_face: int = 100, *, use_clip: bool | None = None
) -> FaceAttributesResult:
    """Attributes of every face at least ``min_face`` x ``min_face`` pixels, left to right (empty: no face)."""
    rgb = as_rgb_array(image)
    h, w = rgb.shape[:2]
    clip = clip_installed(settings) if use_clip is None else use_clip
    method = METHOD_CLIP if clip else METHOD_HEURISTIC
    found = find_faces(rgb, settings, min_face)
    if not found:
        return FaceAttributesResult([], method, w, h)
    person = lab = None
    if not clip:
        person = get_pipeline(SEG_MODEL, settings).run_batch([rgb])[0] > 0.5
        lab = to_lab(rgb)
    out = []
    for index, f in enumerate(found):
        cues: dict[str, float] = {}
        if clip:
            groups = clip_group_probs(head_crop(rgb, f.face.bbox), settings)
            color = groups["color"]
        else:
            points = f.points
            if points is None:  # the mesh lost the face: fall back to a box-shaped point set
                x0, y0, x1, y1 = f.face.bbox
                points = box_points(x0, y0, x1, y1)
            g = measure_geometry(points)
            hair = measure_hair(rgb, lab, person, points, g)  # type: ignore[arg-type]
            groups = {"shape": face_shape_probs(g), **hair_style_groups(hair)}
            color = hair_color_probs(hair)
            cues = {
                "length_width": g.length_width,
                "forehead_cheek": g.forehead_cheek,
                "jaw_cheek": g.jaw_cheek,
                "chin_angle": g.chin_angle,
                **hair.cues,
            }
        out.append(
            FaceAttributes(
                index=index,
                bbox=f.bbox,
                face_score=float(f.face.score),
                face_shape=distribution(FACE_SHAPES, groups["shape"]),
                hair_color=distribution(HAIR_COLORS, color),
                female_hair_style=FemaleHairStyle(
                    bangs_type=distribution(BANGS_TYPES, groups["bangs"]),
                    curly_hair_type=distribution(CURLY_TYPES, groups["curly"]),
                    hair_type=distribution(HAIR_TYPES, groups["type"]),
                    long_short_hair=distribution(HAIR_LENGTHS, groups["length"]),
                    tied_hair=round(float(groups["tied"]), 4),
                    braided_hair=round(float(groups["braided"]), 4),
                ),
                male_hair_style=distribution(MALE_STYLES, groups["male"]),
                method=method,
                cues={k: round(float(v), 4) for k, v in cues.items()},
            )
        )
    return FaceAttributesResult(out, method, w, h)
