"""Face attributes (PAI face_attr_image: face shape, hair colour, hair style) and the age range of the main face.

Faces come from ``dlib-face`` (HOG); every face whose reported box is at least ``min_face`` pixels on both sides
(PAI: "the face area must have a resolution higher than 100x100") gets the seed's attribute groups as probability
dicts with the seed's keys. ``bbox`` is the union of dlib's box and the extent of the 468-point face mesh (dlib's
HOG box stops at the brows; the mesh reaches the upper forehead), clipped to the image; ``index`` numbers the
faces left to right; ``face_score`` is dlib's HOG margin.

**Two methods.** When the hub model ``clip-vit-b32`` is installed every group is CLIP's zero-shot softmax over
prompts on a head crop (``METHOD_CLIP``). Otherwise (``METHOD_HEURISTIC``) the groups come from measurements, not
from a trained attribute classifier: they are **honest heuristics**. What is measured:

* *Face shape* - the face mesh (3-D points, so a slightly turned head distorts less): length/width
  (mesh top 10 to chin 152 over cheek-to-cheek 234-454), forehead width (54-284) and jaw width (172-397) over the
  cheek width, and the chin angle at 152 between the jaw corners. Each shape has a prototype in that space
  (``SHAPE_PROTOTYPES``); probabilities are a Student-t kernel of the scaled distances (``SHAPE_SCALES``), normalised.
* *Hair region* - the selfie-segmentation person mask minus the face (mesh convex hull, dilated by 4 % of the
  face height), restricted to the head band (``HAIR_BAND``), minus pixels coloured like the face's own skin.
* *Hair colour* - each hair pixel (CIE Lab) is scored against the colour prototypes (``HAIR_COLOR_PROTOTYPES``)
  and a virtual "Other" prototype whose distance shrinks as the pixel moves away from every real one; pixel
  scores (Student-t kernel, ``STUDENT_NU``) are averaged. "Gradient" is ``sigmoid`` of the Lab distance between the
  hair's top and bottom thirds.
* *Hair length* - rows below the eyes where at least ``HAIR_ROW_FRACTION`` of the side bands next to the face are
  hair-coloured; the lowest connected such row relative to the chin, over the face height, against the
  prototypes Short / Medium / Long.
* *Bangs* - the share of the forehead (mesh area between the brows and point 10) covered by hair-coloured rather
  than skin-coloured pixels, its left/right asymmetry, its centre-versus-sides difference and how sharp its lower
  edge is.
* *Curly / straight* - the orientation coherence of the structure tensor over the hair region (straight hair
  runs in one direction; curls do not) and the edge density there.
* *Updo / tied* - hair mass above the crown relative to the face height together with how little hair hangs
  beside and below the face.
* *Male styles* - hair height above the mesh top, side thickness at the temples, forehead coverage, asymmetry,
  texture and how much of the hair above the crown sits in the middle third (a ridge: mohawk).

Where a cue is weak the distribution stays broad, but every value is computed from the image. The measured
cues are returned (``FaceAttributes.cues``) so a caller can see what the probabilities rest on.

**Age range** (``estimate_age_range``): the 81-class distribution of ``age-gender`` for the largest face, summed
over the PAI buckets.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from medialens.analyses.errors import UnprocessableError
from medialens.config import Settings
from medialens.models import installed
from medialens.models.loader import get_pipeline
from medialens.models.pipelines.faces import Face, as_rgb_array

METHOD_HEURISTIC = "geometry+pixel-heuristics"
METHOD_CLIP = "clip-vit-b32"
CLIP_MODEL = "clip-vit-b32"
FACE_MODEL = "dlib-face"
MESH_MODEL = "mediapipe-face-landmark"
SEG_MODEL = "mediapipe-selfie-segmentation"
AGE_MODEL = "age-gender"

FACE_SHAPES = ("Triangle", "Round", "Heart", "Square", "Oval", "Diamond", "Oblong")
HAIR_COLORS = (
    "Other",
    "Coffee brown",
    "Silver gray",
    "Chestnut",
    "Brown",
    "Gradient",
    "Wine red",
    "Golden",
    "Yellow",
    "Black",
)
BANGS_TYPES = (
    "Center parted bangs",
    "Braided bangs",
    "Side-swept bangs",
    "No bangs",
    "Wispy bangs",
    "Blunt bangs",
)
CURLY_TYPES = ("Cloud curls", "Loose waves", "Soft waves", "Bouncy curls", "Airy curls", "Tight curls", "Egg rolls")
HAIR_TYPES = ("Curly", "Updo", "Straight")
HAIR_LENGTHS = ("Medium", "Short", "Long")
MALE_STYLES = (
    "Side part",
    "Buzz cut",
    "Crew cut",
    "Flat top",
    "Induction cut",
    "Textured crop",
    "Tousled",
    "Slicked back",
    "Mohawk",
)
AGE_RANGES = ("0-2", "3-9", "10-19", "20-29", "30-39", "40-49", "50-59", "60-69", "70+")
_AGE_BOUNDS = ((0, 2), (3, 9), (10, 19), (20, 29), (30, 39), (40, 49), (50, 59), (60, 69), (70, 80))

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

# --- hair colour prototypes (CIE L*a*b*, D65; L 0-100) ---------------------------------------------------------------
HAIR_COLOR_PROTOTYPES: dict[str, tuple[float, float, float]] = {
    "Black": (14.0, 1.0, 1.0),
    "Coffee brown": (26.0, 5.0, 10.0),
    "Brown": (37.0, 8.0, 17.0),
    "Chestnut": (34.0, 17.0, 24.0),
    "Wine red": (28.0, 28.0, 8.0),
    "Golden": (60.0, 9.0, 36.0),
    "Yellow": (76.0, 1.0, 52.0),
    "Silver gray": (66.0, 0.0, 2.0),
}
HAIR_COLOR_SIGMA = 9.0
"""Lab distance scale of a prototype (a pixel 9 units away scores e^-0.5 of one on it)."""
OTHER_DISTANCE = 22.0
"""A pixel farther than this from every prototype leans to "Other"."""
GRADIENT_CENTER, GRADIENT_SCALE = 26.0, 5.0
"""Gradient = sigmoid((Lab distance top third vs bottom third - 26) / 5)."""

# --- hair region ---------------------------------------------------------------------------------------------------
HAIR_BAND = (1.0, 1.7, 1.6)
"""Head band in face heights/widths: up to 1.0 face height above the mesh top, down to 1.7 below the chin, and
1.6 face widths either side of the face centre."""
HAIR_ROW_FRACTION = 0.12
SKIN_DISTANCE = 14.0
"""Pixels within this Lab distance of the face's own skin are not hair."""
HAIR_MATCH_DISTANCE = 18.0
"""A pixel within this Lab distance of the hair's median colour counts as hair-coloured."""
MAX_HAIR_PIXELS = 20000

# --- hair length / style prototypes ----------------------------------------------------------------------------------
LENGTH_PROTOTYPES = {"Short": -0.35, "Medium": 0.35, "Long": 1.2}
LENGTH_SCALE = 0.35
# (curliness 0-1, volume = hair width / face width, length = hair below the chin / face height)
CURLY_PROTOTYPES: dict[str, tuple[float, float, float]] = {
    "Cloud curls": (0.75, 2.2, 0.5),
    "Loose waves": (0.45, 1.6, 1.2),
    "Soft waves": (0.35, 1.4, 0.8),
    "Bouncy curls": (0.6, 1.8, 0.6),
    "Airy curls": (0.55, 2.0, 0.9),
    "Tight curls": (0.85, 1.6, 0.3),
    "Egg rolls": (0.7, 1.5, -0.2),
}
CURLY_SCALES = (0.15, 0.3, 0.4)
# (top = hair height above mesh top / face height, side = hair beside the temples / face width, fringe = forehead
# coverage, asym = its left/right asymmetry, texture = curliness, ridge = share of the top hair in the middle third)
MALE_FEATURES = ("top", "side", "fringe", "asym", "texture", "ridge")
# "top" counts from mesh point 10 (upper forehead), so even a shaved head has ~0.25 of forehead above it that is
# not skin-coloured in shadow; short-haired men in the shared photos measure 0.36-0.49, "ridge" about 0.2-0.3.
MALE_PROTOTYPES: dict[str, tuple[float, float, float, float, float, float]] = {
    "Side part": (0.45, 0.20, 0.05, 0.15, 0.40, 0.22),
    "Buzz cut": (0.30, 0.05, 0.00, 0.02, 0.45, 0.22),
    "Crew cut": (0.36, 0.10, 0.02, 0.05, 0.45, 0.24),
    "Flat top": (0.55, 0.08, 0.02, 0.05, 0.40, 0.30),
    "Induction cut": (0.26, 0.03, 0.00, 0.02, 0.50, 0.22),
    "Textured crop": (0.42, 0.15, 0.30, 0.15, 0.55, 0.24),
    "Tousled": (0.55, 0.30, 0.15, 0.20, 0.55, 0.22),
    "Slicked back": (0.45, 0.12, 0.00, 0.05, 0.30, 0.24),
    "Mohawk": (0.55, 0.03, 0.02, 0.05, 0.45, 0.60),
}
MALE_SCALES = (0.1, 0.08, 0.1, 0.15, 0.12, 0.08)


# --- results -------------------------------------------------------------------------------------------------------
def _r4(probs: Mapping[str, float]) -> dict[str, float]:
    """Round to 4 decimals keeping the sum at 1 (the rounding error goes to the largest entry)."""
    out = {k: round(float(v), 4) for k, v in probs.items()}
    if out:
        top = max(out, key=lambda k: out[k])
        out[top] = round(out[top] + 1.0 - sum(out.values()), 4)
    return out


def _dist(names: Sequence[str], p: np.ndarray) -> dict[str, float]:
    p = np.asarray(p, np.float64)
    p = p / max(p.sum(), 1e-12)
    return _r4(dict(zip(names, p.tolist(), strict=True)))


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


@dataclass(frozen=True)
class AgeRangeResult:
    age_range: str
    age_range_prob: float
    age: float = 0.0
    """The model's expected age (years), for reference."""
    bbox: tuple[int, int, int, int] = (0, 0, 0, 0)


# --- helpers -------------------------------------------------------------------------------------------------------
def _softmax(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, np.float64)
    e = np.exp(z - z.max())
    return e / e.sum()


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, x))))


STUDENT_NU = 2.0
"""Prototype scores use a Student-t kernel ``(1 + d^2 / nu) ^ -((nu + 1) / 2)`` of the scaled distance ``d``
rather than a Gaussian: heavy tails keep a far prototype's probability small but measurable (and image-dependent)
instead of rounding to 0 everywhere."""


def _kernel(d2: np.ndarray) -> np.ndarray:
    return (1.0 + np.asarray(d2, np.float64) / STUDENT_NU) ** (-(STUDENT_NU + 1) / 2)


def _proto_probs(x: Sequence[float], protos: Mapping[str, Sequence[float]], scales: Sequence[float]) -> np.ndarray:
    """Student-t scores of the scaled distances from ``x`` to each prototype (normalised), in the prototypes' order."""
    v = np.asarray(x, np.float64)
    s = np.asarray(scales, np.float64)
    d2 = np.array([float((((v - np.asarray(p)) / s) ** 2).sum()) for p in protos.values()])
    k = _kernel(d2)
    return k / k.sum()


def _lab(rgb: np.ndarray) -> np.ndarray:
    """uint8 RGB (..., 3) → float32 CIE Lab (L 0-100)."""
    import cv2

    flat = rgb.reshape(-1, 1, 3).astype(np.float32) / 255.0
    return cv2.cvtColor(flat, cv2.COLOR_RGB2Lab).reshape(rgb.shape)


def _head_crop(image: np.ndarray, box: Sequence[float]) -> np.ndarray:
    """The head and shoulders around a face box: 1 face height above, 1.5 below, 1 face width either side."""
    h, w = image.shape[:2]
    x0, y0, x1, y1 = box
    fw, fh = x1 - x0, y1 - y0
    cx0, cy0 = max(0, int(x0 - fw)), max(0, int(y0 - fh))
    cx1, cy1 = min(w, int(x1 + fw)), min(h, int(y1 + 1.5 * fh))
    return image[cy0:cy1, cx0:cx1]


# --- geometry ------------------------------------------------------------------------------------------------------
@dataclass
class _Geometry:
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


def _geometry(points: np.ndarray) -> _Geometry:
    p = np.asarray(points, np.float64)

    def d(a: int, b: int) -> float:
        return float(np.linalg.norm(p[a] - p[b]))

    cheek = max(d(*MESH_CHEEK), 1e-6)
    v1 = p[MESH_JAW[0]] - p[MESH_CHIN]
    v2 = p[MESH_JAW[1]] - p[MESH_CHIN]
    cos = float(v1 @ v2 / max(np.linalg.norm(v1) * np.linalg.norm(v2), 1e-9))
    return _Geometry(
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


# --- hair ----------------------------------------------------------------------------------------------------------
@dataclass
class _Hair:
    mask: np.ndarray  # bool, image size
    lab: np.ndarray  # N x 3 hair pixels (subsampled)
    median: np.ndarray
    top_bottom: float
    cues: dict[str, float]


def _hull_mask(shape: tuple[int, int], points: np.ndarray, dilate: int) -> np.ndarray:
    import cv2

    m = np.zeros(shape, np.uint8)
    hull = cv2.convexHull(np.round(points[:, :2]).astype(np.int32))
    cv2.fillConvexPoly(m, hull, 1)
    if dilate > 0:
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * dilate + 1, 2 * dilate + 1))
        m = cv2.dilate(m, k)
    return m.astype(bool)


def _hair(image: np.ndarray, lab: np.ndarray, person: np.ndarray, points: np.ndarray, g: _Geometry) -> _Hair:
    """The hair pixels of one face and the cues measured on them (see the module docstring)."""
    import cv2

    h, w = image.shape[:2]
    fh, fw = max(g.face_h, 1.0), max(g.face_w, 1.0)
    face = _hull_mask((h, w), points, max(1, int(0.04 * fh)))
    y_top = int(max(0, g.top[1] - HAIR_BAND[0] * fh))
    y_bot = int(min(h, g.chin[1] + HAIR_BAND[1] * fh))
    x_lo = int(max(0, g.centre_x - HAIR_BAND[2] * fw))
    x_hi = int(min(w, g.centre_x + HAIR_BAND[2] * fw))
    band = np.zeros((h, w), bool)
    band[y_top:y_bot, x_lo:x_hi] = True

    skin_pts = np.round(points[list(MESH_CHEEK_SKIN), :2]).astype(int)
    skin_pts[:, 0] = np.clip(skin_pts[:, 0], 0, w - 1)
    skin_pts[:, 1] = np.clip(skin_pts[:, 1], 0, h - 1)
    skin = np.median(lab[skin_pts[:, 1], skin_pts[:, 0]], axis=0)
    skin_like = np.linalg.norm(lab - skin, axis=-1) < SKIN_DISTANCE

    # Seed: the person's pixels above the eyes, around the head (mostly hair); then grow to the whole band by
    # colour similarity to the seed's median.
    head = person & band & ~face & ~skin_like
    seed = head.copy()
    seed[int(max(0, g.eye_y)) :, :] = False
    if seed.sum() < 30:
        seed = head.copy()
    if seed.sum() < 30:
        seed = band & ~face
    seed_lab = lab[seed]
    median = np.median(seed_lab, axis=0) if len(seed_lab) else np.array([50.0, 0.0, 0.0])
    close = np.linalg.norm(lab - median, axis=-1) < HAIR_MATCH_DISTANCE
    mask = seed | (head & close)

    ys, xs = np.nonzero(mask)
    cues: dict[str, float] = {}
    if len(ys) == 0:
        return _Hair(mask, np.zeros((0, 3), np.float32), median, 0.0, {"hair_pixels": 0.0})
    step = max(1, len(ys) // MAX_HAIR_PIXELS)
    px = lab[ys[::step], xs[::step]]
    order = np.argsort(ys[::step], kind="stable")
    third = max(1, len(order) // 3)
    top_med = np.median(px[order[:third]], axis=0)
    bot_med = np.median(px[order[-third:]], axis=0)
    top_bottom = float(np.linalg.norm(top_med - bot_med))

    # Hair length: rows of the side bands next to the face (beside the jaw and below) that are hair.
    side = np.zeros((h, w), bool)
    sx0, sx1 = int(max(0, g.centre_x - 1.2 * fw)), int(min(w, g.centre_x + 1.2 * fw))
    side[:, sx0:sx1] = True
    row_frac = (mask & side & ~face)[:, sx0:sx1].mean(axis=1) if sx1 > sx0 else np.zeros(h)
    y = int(max(0, g.eye_y))
    lowest = y
    gap = 0
    while y < y_bot:
        if row_frac[y] >= HAIR_ROW_FRACTION:
            lowest, gap = y, 0
        else:
            gap += 1
            if gap > 0.15 * fh:
                break
        y += 1
    length = (lowest - g.chin[1]) / fh

    # Above the crown: hair height and how much of it is in the middle third.
    above = mask.copy()
    above[int(max(0, g.top[1])) :, :] = False
    ay, ax = np.nonzero(above)
    top_h = float((g.top[1] - ay.min()) / fh) if len(ay) else 0.0
    mid = np.abs(ax - g.centre_x) < fw / 6 if len(ax) else np.zeros(0, bool)
    ridge = float(mid.mean()) if len(ax) else 0.0
    top_mass = float(len(ay) / (fw * fh))

    # Width of the hair at eye level and the sides beside the temples.
    temple_rows = slice(int(max(0, g.top[1])), int(max(1, g.eye_y)))
    cols = np.nonzero(mask[temple_rows].any(axis=0))[0] if temple_rows.stop > temple_rows.start else []
    volume = float((cols.max() - cols.min()) / fw) if len(cols) else 0.0
    tr = mask[temple_rows]
    beyond = (np.abs(np.arange(w) - g.centre_x) > fw / 2)[None, :]
    side_t = float((tr & beyond).sum() / max(1, tr.shape[0]) / fw / 2) if tr.size else 0.0

    # Texture: structure-tensor coherence and edge density over the hair (on the luminance).
    # (on the head band only: the hair mask lies inside it)
    grey = np.ascontiguousarray(lab[y_top:y_bot, x_lo:x_hi, 0])
    band_mask = mask[y_top:y_bot, x_lo:x_hi]
    gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3)
    sigma = max(1.0, fh / 40)
    jxx = cv2.GaussianBlur(gx * gx, (0, 0), sigma)
    jyy = cv2.GaussianBlur(gy * gy, (0, 0), sigma)
    jxy = cv2.GaussianBlur(gx * gy, (0, 0), sigma)
    num = np.sqrt((jxx - jyy) ** 2 + 4 * jxy**2)
    coh = num / np.maximum(jxx + jyy, 1e-6)
    inner = cv2.erode(band_mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    use = inner if inner.sum() > 50 else band_mask
    coherence = float(np.median(coh[use]))
    mag = np.sqrt(gx * gx + gy * gy)
    edge_density = float((mag[use] > 8.0).mean())

    # Forehead coverage: forehead area of the mesh between the brows and point 10, hair-coloured vs skin.
    brow_y = float(points[list(MESH_BROWS), 1].mean())
    fore = _hull_mask((h, w), points, 0)
    fore[: int(max(0, g.top[1])), :] = False
    fore[int(max(0, brow_y - 0.03 * fh)) :, :] = False
    hair_like = np.linalg.norm(lab - median, axis=-1) < np.linalg.norm(lab - skin, axis=-1)
    cov = float(hair_like[fore].mean()) if fore.any() else 0.0
    left = fore & (np.arange(w) < g.centre_x - fw / 8)[None, :]
    right = fore & (np.arange(w) > g.centre_x + fw / 8)[None, :]
    centre = fore & ~left & ~right
    cl = float(hair_like[left].mean()) if left.any() else cov
    cr = float(hair_like[right].mean()) if right.any() else cov
    cc = float(hair_like[centre].mean()) if centre.any() else cov
    asym = abs(cl - cr)
    parted = max(0.0, (cl + cr) / 2 - cc)
    rows = [float(hair_like[r][fore[r]].mean()) for r in range(h) if fore[r].any()]
    edge = float(np.max(np.abs(np.diff(rows)))) if len(rows) > 2 else 0.0

    cues.update(
        hair_pixels=float(len(ys)),
        hair_L=float(median[0]),
        hair_a=float(median[1]),
        hair_b=float(median[2]),
        top_bottom=top_bottom,
        length=float(length),
        top=top_h,
        top_mass=top_mass,
        ridge=ridge,
        volume=volume,
        side=side_t,
        coherence=coherence,
        edge_density=edge_density,
        fringe=cov,
        fringe_asym=asym,
        fringe_parted=parted,
        fringe_edge=edge,
    )
    return _Hair(mask, px, median, top_bottom, cues)


def _hair_color(hair: _Hair) -> np.ndarray:
    """Probabilities in ``HAIR_COLORS`` order (see the module docstring)."""
    names = list(HAIR_COLOR_PROTOTYPES)
    px = hair.median[None, :] if len(hair.lab) == 0 else hair.lab.astype(np.float64)
    protos = np.array([HAIR_COLOR_PROTOTYPES[n] for n in names])
    d = np.linalg.norm(px[:, None, :] - protos[None, :, :], axis=-1)  # N x 8
    d_other = np.maximum(0.0, 2 * OTHER_DISTANCE - d.min(axis=1, keepdims=True))
    per_px = _kernel((np.concatenate([d, d_other], axis=1) / HAIR_COLOR_SIGMA) ** 2)
    per_px /= per_px.sum(axis=1, keepdims=True)
    mean = per_px.mean(axis=0)
    p_grad = _sigmoid((hair.top_bottom - GRADIENT_CENTER) / GRADIENT_SCALE)
    by_name = {n: float(mean[i]) * (1 - p_grad) for i, n in enumerate(names)}
    by_name["Other"] = float(mean[-1]) * (1 - p_grad)
    by_name["Gradient"] = p_grad
    return np.array([by_name[n] for n in HAIR_COLORS])


def _heuristic_groups(g: _Geometry, hair: _Hair) -> dict[str, Any]:
    c = hair.cues
    curl = float(np.clip(1.0 - c.get("coherence", 0.5), 0.0, 1.0))
    edges = c.get("edge_density", 0.0)
    length = c.get("length", -0.5)
    fringe = c.get("fringe", 0.0)
    asym = c.get("fringe_asym", 0.0)
    parted = c.get("fringe_parted", 0.0)
    sharp = c.get("fringe_edge", 0.0)
    top = c.get("top", 0.0)
    volume = c.get("volume", 1.0)
    side = c.get("side", 0.0)
    ridge = c.get("ridge", 0.4)

    shape = _proto_probs(
        (g.length_width, g.forehead_cheek, g.jaw_cheek, g.chin_angle),
        {n: SHAPE_PROTOTYPES[n] for n in FACE_SHAPES},
        SHAPE_SCALES,
    )
    lengths = _softmax(
        np.array([-((length - LENGTH_PROTOTYPES[n]) ** 2) / (2 * LENGTH_SCALE**2) for n in HAIR_LENGTHS])
    )
    # Bangs (BANGS_TYPES order): centre parted, braided, side-swept, none, wispy, blunt.
    bangs = _softmax(
        np.array(
            [
                4.0 * fringe + 8.0 * parted - 2.0,
                2.0 * fringe + 3.0 * edges * curl - 3.0,
                4.0 * fringe + 8.0 * asym - 2.0,
                5.0 * (0.35 - fringe),
                3.0 * fringe - 6.0 * abs(fringe - 0.4) + 2.0 * (1 - sharp) - 1.5,
                6.0 * fringe + 4.0 * sharp - 4.0,
            ]
        )
    )
    curly = _proto_probs((curl, volume, length), CURLY_PROTOTYPES, CURLY_SCALES)
    curly = np.array([curly[list(CURLY_PROTOTYPES).index(n)] for n in CURLY_TYPES])
    # Updo: hair mass above the crown (beyond the ~0.35-0.5 that any head of hair measures above point 10) with
    # little hair hanging beside/below the face.
    updo_logit = 6.0 * (top - 0.5) - 3.0 * max(0.0, length + 0.2) - 4.0 * side
    hair_type = _softmax(np.array([8.0 * (curl - 0.55), updo_logit, 8.0 * (0.55 - curl)]))
    # Tied / braided are weak cues from the front (short hair and hair tied back look alike): kept broad.
    tied = _sigmoid(1.5 * (top - 0.45) - 1.5 * (length + 0.2) - 3.0 * (side - 0.2) - 1.0)
    braided = _sigmoid(3.0 * (edges - 0.8) + 4.0 * (curl - 0.5) - 1.0 * (length + 0.2) - 1.5)
    male = _proto_probs((top, side, fringe, asym, curl, ridge), MALE_PROTOTYPES, MALE_SCALES)
    male = np.array([male[list(MALE_PROTOTYPES).index(n)] for n in MALE_STYLES])
    return {
        "shape": shape,
        "bangs": bangs,
        "curly": curly,
        "type": hair_type,
        "length": lengths,
        "tied": tied,
        "braided": braided,
        "male": male,
    }


# --- CLIP ----------------------------------------------------------------------------------------------------------
CLIP_PROMPTS: dict[str, tuple[str, Sequence[str]]] = {
    "shape": ("a photo of a person with a {} face shape", [s.lower() for s in FACE_SHAPES]),
    "color": (
        "a photo of a person with {}",
        [
            "unusually coloured hair",
            "coffee brown hair",
            "silver gray hair",
            "chestnut hair",
            "brown hair",
            "gradient ombre dyed hair",
            "wine red hair",
            "golden blonde hair",
            "yellow hair",
            "black hair",
        ],
    ),
    "bangs": ("a photo of a woman with {}", [b.lower() for b in BANGS_TYPES]),
    "curly": ("a photo of a woman with {} hair", [c.lower() for c in CURLY_TYPES]),
    "type": ("a photo of a woman with {}", ["curly hair", "an updo hairstyle", "straight hair"]),
    "length": ("a photo of a woman with {}", ["medium length hair", "short hair", "long hair"]),
    "tied": ("a photo of a woman with {}", ["tied hair", "loose hair"]),
    "braided": ("a photo of a woman with {}", ["braided hair", "unbraided hair"]),
    "male": ("a photo of a man with a {} haircut", [m.lower() for m in MALE_STYLES]),
}


def _clip_groups(head: np.ndarray, settings: Settings) -> dict[str, Any]:
    clip = get_pipeline(CLIP_MODEL, settings)
    emb = clip.embed_image(Image.fromarray(head))
    out: dict[str, Any] = {}
    for key, (template, labels) in CLIP_PROMPTS.items():
        probs = np.asarray(clip.zero_shot(emb, clip.embed_text([template.format(x) for x in labels])), np.float64)
        out[key] = float(probs[0] / probs.sum()) if key in ("tied", "braided") else probs
    return out


# --- public API ----------------------------------------------------------------------------------------------------
def clip_installed(settings: Settings) -> bool:
    try:
        return installed.installed(CLIP_MODEL, settings)
    except Exception:  # an unknown or broken registry entry means: not available
        return False


def _box(face: Face, points: np.ndarray | None, w: int, h: int) -> tuple[int, int, int, int]:
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
class _Found:
    face: Face
    points: np.ndarray | None
    bbox: tuple[int, int, int, int]


def _find_faces(image: np.ndarray, settings: Settings, min_face: int) -> list[_Found]:
    from medialens.models.pipelines.mediapipe_models import FaceMeshRequest

    faces: list[Face] = get_pipeline(FACE_MODEL, settings).run_batch([image])[0]
    if not faces:
        return []
    meshes = get_pipeline(MESH_MODEL, settings).run_batch([FaceMeshRequest(image, faces)])[0]
    h, w = image.shape[:2]
    found = []
    for face, mesh in zip(faces, meshes, strict=True):
        points = np.asarray(mesh.points, np.float64) if mesh.score >= 0.5 else None
        box = _box(face, points, w, h)
        if box[2] - box[0] >= min_face and box[3] - box[1] >= min_face:
            found.append(_Found(face, points, box))
    found.sort(key=lambda f: (f.bbox[0] + f.bbox[2]) / 2)
    return found


def hair_masks(image: Image.Image | np.ndarray, settings: Settings, min_face: int = 100) -> list[np.ndarray]:
    """The heuristic hair mask (H x W bool) of every face ``analyze_faces`` reports (left to right), skipping a
    face the mesh lost."""
    rgb = as_rgb_array(image)
    found = [f for f in _find_faces(rgb, settings, min_face) if f.points is not None]
    if not found:
        return []
    person = get_pipeline(SEG_MODEL, settings).run_batch([rgb])[0] > 0.5
    lab = _lab(rgb)
    return [_hair(rgb, lab, person, f.points, _geometry(f.points)).mask for f in found]


def analyze_faces(
    image: Image.Image | np.ndarray, settings: Settings, min_face: int = 100, *, use_clip: bool | None = None
) -> FaceAttributesResult:
    """Attributes of every face at least ``min_face`` x ``min_face`` pixels, left to right (empty: no face)."""
    rgb = as_rgb_array(image)
    h, w = rgb.shape[:2]
    clip = clip_installed(settings) if use_clip is None else use_clip
    method = METHOD_CLIP if clip else METHOD_HEURISTIC
    found = _find_faces(rgb, settings, min_face)
    if not found:
        return FaceAttributesResult([], method, w, h)
    person = lab = None
    if not clip:
        person = get_pipeline(SEG_MODEL, settings).run_batch([rgb])[0] > 0.5
        lab = _lab(rgb)
    out = []
    for index, f in enumerate(found):
        cues: dict[str, float] = {}
        if clip:
            groups = _clip_groups(_head_crop(rgb, f.face.bbox), settings)
            color = groups["color"]
        else:
            points = f.points
            if points is None:  # the mesh lost the face: fall back to a box-shaped point set
                x0, y0, x1, y1 = f.face.bbox
                points = _box_points(x0, y0, x1, y1)
            g = _geometry(points)
            hair = _hair(rgb, lab, person, points, g)  # type: ignore[arg-type]
            groups = _heuristic_groups(g, hair)
            color = _hair_color(hair)
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
                face_shape=_dist(FACE_SHAPES, groups["shape"]),
                hair_color=_dist(HAIR_COLORS, color),
                female_hair_style=FemaleHairStyle(
                    bangs_type=_dist(BANGS_TYPES, groups["bangs"]),
                    curly_hair_type=_dist(CURLY_TYPES, groups["curly"]),
                    hair_type=_dist(HAIR_TYPES, groups["type"]),
                    long_short_hair=_dist(HAIR_LENGTHS, groups["length"]),
                    tied_hair=round(float(groups["tied"]), 4),
                    braided_hair=round(float(groups["braided"]), 4),
                ),
                male_hair_style=_dist(MALE_STYLES, groups["male"]),
                method=method,
                cues={k: round(float(v), 4) for k, v in cues.items()},
            )
        )
    return FaceAttributesResult(out, method, w, h)


def _box_points(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
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


def estimate_age_range(image: Image.Image | np.ndarray, settings: Settings) -> AgeRangeResult:
    """The PAI age bucket of the largest face: the age model's 81 classes summed per bucket, the best bucket."""
    from medialens.models.pipelines.age_gender import AgeGenderRequest

    rgb = as_rgb_array(image)
    faces: list[Face] = get_pipeline(FACE_MODEL, settings).run_batch([rgb])[0]
    if not faces:
        raise UnprocessableError("no face found")
    main = max(faces, key=lambda f: (f.bbox[2] - f.bbox[0]) * (f.bbox[3] - f.bbox[1]))
    (ag,) = get_pipeline(AGE_MODEL, settings).run_batch([AgeGenderRequest(rgb, [main])])[0]
    dist = np.asarray(ag.age_distribution, np.float64)
    dist = dist / max(dist.sum(), 1e-12)
    buckets = np.array([dist[lo : hi + 1].sum() for lo, hi in _AGE_BOUNDS])
    best = int(np.argmax(buckets))
    x0, y0, x1, y1 = main.bbox
    return AgeRangeResult(
        age_range=AGE_RANGES[best],
        age_range_prob=round(float(buckets[best]), 4),
        age=float(ag.age),
        bbox=(int(x0), int(y0), math.ceil(x1), math.ceil(y1)),
    )
