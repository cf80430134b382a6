"""Face shape from the 468-point face mesh (3-D points, so a slightly turned head distorts less).

Measured: length/width (mesh top 10 to chin 152 over cheek-to-cheek 234-454), forehead width (54-284) and jaw
width (172-397) over the cheek width, and the chin angle at 152 between the jaw corners. Each shape has a prototype
in that space (``SHAPE_PROTOTYPES``); probabilities are a Student-t kernel of the scaled distances
(``SHAPE_SCALES``), normalised. The mesh measurements (:class:`Geometry`) also place the hair search of ``hair``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from medialens.analyses.face_attributes.labels import FACE_SHAPES
from medialens.analyses.face_attributes.scoring import prototype_probs

# --- face mesh landmarks (MediaPipe canonical face model) --------------------------------------------------------
MESH_TOP, MESH_CHIN = 10, 152
MESH_CHEEK = (234, 454)
MESH_FOREHEAD = (54, 284)
MESH_JAW = (172, 397)
MESH_BROWS = (70, 63, 105, 66, 107, 336, 296, 334, 293, 300)
MESH_EYES = (33, 133, 362, 263)
MESH_CHEEK_SKIN = (50, 280, 118, 347)

# --- face shape prototypes -----------------------------------------------------------------------------------------
# Features: length/width (mesh 10-152 over 234-454, ~1.05-1.35 on frontal portraits), forehead/cheek (54-284 over
# 234-454), jaw/cheek (172-397 over 234-454), chin angle in degrees at 152 between the jaw corners.
# The prototypes follow the usual descriptions of the shapes: oblong long with parallel sides; round short, soft
# wide chin; square short with a wide jaw and wide chin angle; oval a little long, jaw narrower than forehead;
# heart wide forehead, narrow pointed chin; diamond cheekbones widest, narrow forehead and jaw; triangle (pear)
# jaw wider than the forehead.
SHAPE_FEATURES = ("length_width", "forehead_cheek", "jaw_cheek", "chin_angle")
SHAPE_PROTOTYPES: dict[str, tuple[float, float, float, float]] = {
    "Triangle": (1.16, 0.81, 0.85, 96.0),
    "Round": (1.10, 0.85, 0.82, 96.0),
    "Heart": (1.20, 0.88, 0.78, 90.0),
    "Square": (1.14, 0.84, 0.84, 97.0),
    "Oval": (1.22, 0.85, 0.80, 93.0),
    "Diamond": (1.20, 0.81, 0.78, 91.0),
    "Oblong": (1.32, 0.84, 0.82, 94.0),
}
"""The mesh's own ratios, not a tape measure's: point 10 sits on the upper forehead (below the hairline) and
234/454 at the cheekbones, so frontal adult faces span about 1.10-1.30 (length/width), 0.82-0.88 (forehead),
0.78-0.84 (jaw) and 90-97 degrees (chin) (measured on the shared photos: 1.13-1.29, 0.83-0.87, 0.79-0.83,
91-96). Oval sits at the middle of that range; each other shape moves the features the way its description
says (oblong +length; round -length, wider chin; square wider jaw and chin; heart wider forehead, narrower jaw,
pointed chin; diamond narrow forehead and jaw; triangle jaw wider than forehead)."""
SHAPE_SCALES = (0.06, 0.02, 0.02, 2.5)


@dataclass
class Geometry:
    length_width: float
    forehead_cheek: float
    jaw_cheek: float
    chin_angle: float
    face_w: float
    face_h: float
    top: np.ndarray
    chin: np.ndarray
    centre_x: float
    eye_y: float


def measure_geometry(points: np.ndarray) -> Geometry:
    p = np.asarray(points, np.float64)

    def d(a: int, b: int) -> float:
        return float(np.linalg.norm(p[a] - p[b]))

    cheek = max(d(*MESH_CHEEK), 1e-6)
    v1 = p[MESH_JAW[0]] - p[MESH_CHIN]
    v2 = p[MESH_JAW[1]] - p[MESH_CHIN]
    cos = float(v1 @ v2 / max(np.linalg.norm(v1) * np.linalg.norm(v2), 1e-9))
    return Geometry(
        length_width=d(MESH_TOP, MESH_CHIN) / cheek,
        forehead_cheek=d(*MESH_FOREHEAD) / cheek,
        jaw_cheek=d(*MESH_JAW) / cheek,
        chin_angle=math.degrees(math.acos(max(-1.0, min(1.0, cos)))),
        face_w=float(np.linalg.norm(p[MESH_CHEEK[0], :2] - p[MESH_CHEEK[1], :2])),
        face_h=float(np.linalg.norm(p[MESH_TOP, :2] - p[MESH_CHIN, :2])),
        top=p[MESH_TOP, :2],
        chin=p[MESH_CHIN, :2],
        centre_x=float(p[list(MESH_CHEEK), 0].mean()),
        eye_y=float(p[list(MESH_EYES), 1].mean()),
    )


def face_shape_probs(g: Geometry) -> np.ndarray:
    """Probabilities in ``FACE_SHAPES`` order from the mesh ratios (see the module docstring)."""
    return prototype_probs(
        (g.length_width, g.forehead_cheek, g.jaw_cheek, g.chin_angle),
        {n: SHAPE_PROTOTYPES[n] for n in FACE_SHAPES},
        SHAPE_SCALES,
    )


def hull_mask(shape: tuple[int, int], points: np.ndarray, dilate: int) -> np.ndarray:
    import cv2

    m = np.zeros(shape, np.uint8)
    hull = cv2.convexHull(np.round(points[:, :2]).astype(np.int32))
    cv2.fillConvexPoly(m, hull, 1)
    if dilate > 0:
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * dilate + 1, 2 * dilate + 1))
        m = cv2.dilate(m, k)
    return m.astype(bool)


def box_points(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    """A stand-in 468-point set when the mesh fails: every point at the box centre, the named ones placed on the
    box so the geometry is that of the box (an oval-ish default)."""
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    fw, fh = x1 - x0, y1 - y0
    p = np.tile([cx, cy, 0.0], (468, 1))
    p[MESH_TOP] = (cx, y0 - 0.15 * fh, 0)
    p[MESH_CHIN] = (cx, y1, 0)
    p[MESH_CHEEK[0]], p[MESH_CHEEK[1]] = (x0, cy, 0), (x1, cy, 0)
    p[MESH_FOREHEAD[0]], p[MESH_FOREHEAD[1]] = (x0 + 0.15 * fw, y0, 0), (x1 - 0.15 * fw, y0, 0)
    p[MESH_JAW[0]], p[MESH_JAW[1]] = (x0 + 0.12 * fw, y1 - 0.2 * fh, 0), (x1 - 0.12 * fw, y1 - 0.2 * fh, 0)
    for i in MESH_BROWS:
        p[i] = (cx, y0 + 0.1 * fh, 0)
    for i in MESH_EYES:
        p[i] = (cx, y0 + 0.3 * fh, 0)
    for i in MESH_CHEEK_SKIN:
        p[i] = (cx, cy + 0.1 * fh, 0)
    return p
