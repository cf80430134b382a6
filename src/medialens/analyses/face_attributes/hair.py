"""The hair of one face and what it looks like, measured rather than classified (honest heuristics).

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

Where a cue is weak the distribution stays broad, but every value is computed from the image; the cues are kept
(``Hair.cues``) so a caller can see what the probabilities rest on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from medialens.analyses.face_attributes.geometry import MESH_BROWS, MESH_CHEEK_SKIN, Geometry, hull_mask
from medialens.analyses.face_attributes.labels import CURLY_TYPES, HAIR_COLORS, HAIR_LENGTHS, MALE_STYLES
from medialens.analyses.face_attributes.scoring import prototype_probs, sigmoid, softmax, student_t

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


def to_lab(rgb: np.ndarray) -> np.ndarray:
    """uint8 RGB (..., 3) → float32 CIE Lab (L 0-100)."""
    import cv2

    flat = rgb.reshape(-1, 1, 3).astype(np.float32) / 255.0
    return cv2.cvtColor(flat, cv2.COLOR_RGB2Lab).reshape(rgb.shape)


# --- measuring the hair ---------------------------------------------------------------------------------------------
@dataclass
class Hair:
    mask: np.ndarray  # bool, image size
    lab: np.ndarray  # N x 3 hair pixels (subsampled)
    median: np.ndarray
    top_bottom: float
    cues: dict[str, float]


def measure_hair(image: np.ndarray, lab: np.ndarray, person: np.ndarray, points: np.ndarray, g: Geometry) -> Hair:
    """The hair pixels of one face and the cues measured on them (see the module docstring)."""
    import cv2

    h, w = image.shape[:2]
    fh, fw = max(g.face_h, 1.0), max(g.face_w, 1.0)
    face = hull_mask((h, w), points, max(1, int(0.04 * fh)))
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
        return Hair(mask, np.zeros((0, 3), np.float32), median, 0.0, {"hair_pixels": 0.0})
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
    fore = hull_mask((h, w), points, 0)
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
    return Hair(mask, px, median, top_bottom, cues)


def hair_color_probs(hair: Hair) -> np.ndarray:
    """Probabilities in ``HAIR_COLORS`` order (see the module docstring)."""
    names = list(HAIR_COLOR_PROTOTYPES)
    px = hair.median[None, :] if len(hair.lab) == 0 else hair.lab.astype(np.float64)
    protos = np.array([HAIR_COLOR_PROTOTYPES[n] for n in names])
    d = np.linalg.norm(px[:, None, :] - protos[None, :, :], axis=-1)  # N x 8
    d_other = np.maximum(0.0, 2 * OTHER_DISTANCE - d.min(axis=1, keepdims=True))
    per_px = student_t((np.concatenate([d, d_other], axis=1) / HAIR_COLOR_SIGMA) ** 2)
    per_px /= per_px.sum(axis=1, keepdims=True)
    mean = per_px.mean(axis=0)
    p_grad = sigmoid((hair.top_bottom - GRADIENT_CENTER) / GRADIENT_SCALE)
    by_name = {n: float(mean[i]) * (1 - p_grad) for i, n in enumerate(names)}
    by_name["Other"] = float(mean[-1]) * (1 - p_grad)
    by_name["Gradient"] = p_grad
    return np.array([by_name[n] for n in HAIR_COLORS])


def hair_style_groups(hair: Hair) -> dict[str, Any]:
    """The hair-style groups (bangs, curls, type, length, tied, braided, male styles) from the hair cues."""
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

    lengths = softmax(np.array([-((length - LENGTH_PROTOTYPES[n]) ** 2) / (2 * LENGTH_SCALE**2) for n in HAIR_LENGTHS]))
    # Bangs (BANGS_TYPES order): centre parted, braided, side-swept, none, wispy, blunt.
    bangs = softmax(
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
    curly = prototype_probs((curl, volume, length), CURLY_PROTOTYPES, CURLY_SCALES)
    curly = np.array([curly[list(CURLY_PROTOTYPES).index(n)] for n in CURLY_TYPES])
    # Updo: hair mass above the crown (beyond the ~0.35-0.5 that any head of hair measures above point 10) with
    # little hair hanging beside/below the face.
    updo_logit = 6.0 * (top - 0.5) - 3.0 * max(0.0, length + 0.2) - 4.0 * side
    hair_type = softmax(np.array([8.0 * (curl - 0.55), updo_logit, 8.0 * (0.55 - curl)]))
    # Tied / braided are weak cues from the front (short hair and hair tied back look alike): kept broad.
    tied = sigmoid(1.5 * (top - 0.45) - 1.5 * (length + 0.2) - 3.0 * (side - 0.2) - 1.0)
    braided = sigmoid(3.0 * (edges - 0.8) + 4.0 * (curl - 0.5) - 1.0 * (length + 0.2) - 1.5)
    male = prototype_probs((top, side, fringe, asym, curl, ridge), MALE_PROTOTYPES, MALE_SCALES)
    male = np.array([male[list(MALE_PROTOTYPES).index(n)] for n in MALE_STYLES])
    return {
        "bangs": bangs,
        "curly": curly,
        "type": hair_type,
        "length": lengths,
        "tied": tied,
        "braided": braided,
        "male": male,
    }
