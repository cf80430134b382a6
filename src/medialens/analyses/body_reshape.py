"""Body reshaping (PAI ``body_reshaping``): slim (degree > 0) or enlarge (degree < 0) the figure in a portrait.

A classical "liquify" warp guided by two MediaPipe models, no generative model:

1. **Pose** (``mediapipe-pose``, 33 BlazePose landmarks in image pixels) gives the shoulders and hips. The body's
   vertical axis runs from the mid-shoulder to the mid-hip point (and on, along the same line, above and below);
   the torso length ``T`` is their distance. Photos where no person is found, the shoulders are not visible, the
   torso lies nearly horizontal, or the segmentation does not confirm the torso are returned unchanged with
   ``applied=False`` and a reason.
2. **Person mask** (``mediapipe-selfie-segmentation``) gives, row by row, the silhouette's extent on each side of
   the axis (the run of mask > 0.5 that contains the axis), smoothed along the rows and kept within 0.6-2.5 times
   a width estimated from the landmarks (so a mask that merges with a neighbour or the background cannot blow it
   up). It also confines the warp: the displacement is kept at full strength up to a quarter of the body's
   half-width outside the mask and faded (cosine of the distance to the mask) to zero half a half-width farther,
   so background farther from the person is never moved.
3. **Displacement field**, horizontal only. With ``u = (x - axis) / W`` (``W`` the half-width on that side of
   that row), the output pixel at ``u`` samples the input at ``u + k * u * exp(-u^2 / 2)``: zero on the axis,
   largest at the silhouette's edge (``u = 1``), fading as a Gaussian outside it. ``k = 0.07 * degree``; k > 0
   fetches from farther out, so the figure narrows (the background next to it is stretched in to fill), k < 0
   widens it. Rows are weighted by a flat-topped Gaussian: full strength from a quarter of the torso below the
   shoulders to a quarter below the hips (chest, waist, hips), falling off with sigma ``T / 4`` (the face and
   lower legs are left almost as they are). Over the clamped range ``|k| <= 0.21`` the map stays monotonic in x
   (its slope is at least ``1 - 0.45 |k|`` before the confinement factor, whose gradient takes at most another
   ``1.9 |k|``), so the warp never folds.
4. ``cv2.remap`` with bicubic interpolation (edge pixels replicated); pixels whose displacement is below
   0.001 px are copied unchanged, so everything outside the warped band is bit-identical.

Measured by re-segmenting the output (mean person-mask width across the axis from chest to hips), for degrees 3,
1.5, -1.5 (PAI's default) and -3: an upper-body portrait (``face_rose_leslie_a.jpg``) -12.5 %, -6.5 %, +6 %,
+12 %; the full-figure ``skimage_cameraman.png`` -13 %, -2.5 %, +3 %, +6 %. 30-150 ms per image on 2 cores.

Known limit: the pose detector also fires on some animals (``skimage_golden_eagle.png`` gets a confident pose
and a person mask), and such a picture is warped too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter1d

from medialens.config import Settings
from medialens.models.loader import get_pipeline

POSE_MODEL = "mediapipe-pose"
SEGMENTATION_MODEL = "mediapipe-selfie-segmentation"

DEFAULT_DEGREE = -1.5
"""PAI's default (it suggests -2.5 to -1.5 to enlarge)."""
DEGREE_RANGE = (-3.0, 3.0)
"""Degrees outside this range are clamped to it."""
STRENGTH_PER_DEGREE = 0.07
"""``k`` of the displacement profile per unit of degree: degree 3 moves the silhouette's edge ~12 % inwards."""
CONFINE_BAND = 0.5
"""Width of the band around the person mask the warp may reach into, as a fraction of the body's half-width."""

MIN_VISIBILITY = 0.5
MASK_THRESHOLD = 0.5
MIN_TORSO_MASK = 0.5
"""Mean person-mask probability the visible part of the torso quadrilateral must reach (pose confirmed)."""

_L_SHOULDER, _R_SHOULDER, _L_HIP, _R_HIP = 11, 12, 23, 24


@dataclass(frozen=True)
class ReshapeResult:
    image: Image.Image
    """The reshaped image (same size and mode as the input for L, RGB, RGBA; RGB/RGBA otherwise)."""
    applied: bool
    """False when the image came back unchanged: degree 0, or no usable person (see ``reason``)."""
    reason: str | None = None
    degree: float = 0.0
    """The degree used, after clamping to ``DEGREE_RANGE``."""


@dataclass(frozen=True)
class BodyFrame:
    """The body's axis and joint widths, from the pose landmarks (image pixels)."""

    shoulder: np.ndarray  # mid-shoulder (x, y)
    hip: np.ndarray  # mid-hip (x, y)
    shoulder_half: float  # half the shoulder-joint distance
    hip_half: float  # half the hip-joint distance

    @classmethod
    def from_landmarks(cls, lm: np.ndarray) -> BodyFrame:
        """From BlazePose's 33 x (x, y, ...) landmarks."""
        ls, rs, lh, rh = (np.asarray(lm[i, :2], dtype=np.float64) for i in (_L_SHOULDER, _R_SHOULDER, _L_HIP, _R_HIP))
        return cls(
            shoulder=(ls + rs) / 2,
            hip=(lh + rh) / 2,
            shoulder_half=float(np.hypot(*(ls - rs))) / 2,
            hip_half=float(np.hypot(*(lh - rh))) / 2,
        )

    @property
    def torso(self) -> float:
        return float(np.hypot(*(self.hip - self.shoulder)))

    def axis_x(self, ys: np.ndarray) -> np.ndarray:
        dy = self.hip[1] - self.shoulder[1]
        return self.shoulder[0] + (ys - self.shoulder[1]) * (self.hip[0] - self.shoulder[0]) / dy

    def landmark_half_width(self, ys: np.ndarray) -> np.ndarray:
        """Silhouette half-width guessed from the joints: shoulder joints ~ the shoulder line's ends, hip joints
        ~ 0.6 of the hip width, interpolated in between and held constant beyond."""
        t = np.clip((ys - self.shoulder[1]) / (self.hip[1] - self.shoulder[1]), 0.0, 1.0)
        top, bottom = self.shoulder_half, max(1.6 * self.hip_half, 0.2 * self.torso)
        return np.maximum((1 - t) * top + t * bottom, 0.15 * self.torso)


def clamp_degree(degree: float) -> float:
    d = float(degree)
    if not math.isfinite(d):
        raise ValueError(f"degree must be a finite number, got {degree!r}")
    lo, hi = DEGREE_RANGE
    return min(hi, max(lo, d))


def reshape_body(image: Image.Image, degree: float = DEFAULT_DEGREE, settings: Settings | None = None) -> ReshapeResult:
    """Slim (degree > 0) or enlarge (degree < 0) the most prominent person; see the module doc for the method.

    Raises ValueError for a non-finite degree and ModelNotInstalledError when a MediaPipe model is missing.
    """
    d = clamp_degree(degree)
    pixels, mode = _pixels(image)
    if d == 0.0:
        return ReshapeResult(_to_image(pixels, mode), False, "degree 0 leaves the figure unchanged", d)
    rgb = _rgb(pixels)
    pose = get_pipeline(POSE_MODEL, settings)(rgb)
    if pose is None:
        return ReshapeResult(_to_image(pixels, mode), False, "no person found", d)
    lm = pose.landmarks
    if min(lm[_L_SHOULDER, 3], lm[_R_SHOULDER, 3]) < MIN_VISIBILITY:
        return ReshapeResult(_to_image(pixels, mode), False, "no torso visible (shoulders not found)", d)
    body = BodyFrame.from_landmarks(lm)
    if body.torso < 8 or body.hip[1] - body.shoulder[1] < 0.5 * body.torso:
        return ReshapeResult(_to_image(pixels, mode), False, "body is not upright", d)
    mask = np.asarray(get_pipeline(SEGMENTATION_MODEL, settings)(rgb), dtype=np.float32)
    if _torso_mask_mean(mask, lm) < MIN_TORSO_MASK:
        return ReshapeResult(_to_image(pixels, mode), False, "person not confirmed by segmentation", d)
    out = warp(pixels, body, mask, STRENGTH_PER_DEGREE * d)
    return ReshapeResult(_to_image(out, mode), True, None, d)


# -------------------------------------------------------------------- the warp


def displacement_field(
    shape: tuple[int, int], body: BodyFrame, mask: np.ndarray, k: float
) -> tuple[int, int, np.ndarray]:
    """Horizontal source offsets ``dx`` for rows ``r0:r1`` (the output pixel (x, y) samples (x + dx, y))."""
    h, w = shape
    t = body.torso
    top, bottom = body.shoulder[1] + 0.25 * t, body.hip[1] + 0.25 * t
    sigma_y = 0.25 * t
    r0 = int(np.clip(math.floor(top - 4 * sigma_y), 0, h))
    r1 = int(np.clip(math.ceil(bottom + 4 * sigma_y) + 1, 0, h))
    if r1 <= r0:
        return r0, r0, np.zeros((0, w), np.float32)
    ys = np.arange(r0, r1, dtype=np.float64)
    gap = np.maximum(0.0, np.maximum(top - ys, ys - bottom))
    row_weight = np.exp(-0.5 * (gap / sigma_y) ** 2)

    axis = body.axis_x(ys)
    w_left, w_right = _half_widths(mask[r0:r1] > MASK_THRESHOLD, axis, body.landmark_half_width(ys), t)

    xs = np.arange(w, dtype=np.float64)[None, :]
    rel = xs - axis[:, None]
    width = np.where(rel < 0, w_left[:, None], w_right[:, None])
    u = rel / width
    dx = k * width * u * np.exp(-0.5 * u * u) * row_weight[:, None]

    # Confine to the person and a band around it (what the narrowed figure uncovers must come from there):
    # full strength up to half a band outside the mask, a cosine fade to zero one band farther.
    band = max(4.0, CONFINE_BAND * float(np.median(np.concatenate([w_left, w_right]))))
    outside = (mask[r0:r1] <= MASK_THRESHOLD).astype(np.uint8)
    dist = cv2.distanceTransform(outside, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    ramp = np.clip((dist - 0.5 * band) / band, 0.0, 1.0)
    dx *= 0.5 * (1.0 + np.cos(np.pi * ramp))
    return r0, r1, dx.astype(np.float32)


def warp(pixels: np.ndarray, body: BodyFrame, mask: np.ndarray, k: float) -> np.ndarray:
    h, w = pixels.shape[:2]
    r0, r1, dx = displacement_field((h, w), body, mask, k)
    out = pixels.copy()
    if r1 <= r0:
        return out
    map_x = np.arange(w, dtype=np.float32)[None, :] + dx
    map_y = np.repeat(np.arange(r0, r1, dtype=np.float32)[:, None], w, axis=1)
    warped = cv2.remap(pixels, map_x, map_y, interpolation=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    moved = np.abs(dx) >= 1e-3
    band = out[r0:r1]
    band[moved] = warped.reshape(band.shape)[moved]
    return out


def _half_widths(
    person: np.ndarray, axis: np.ndarray, guess: np.ndarray, torso: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the distance from the axis to the left and right ends of the mask run containing the axis."""
    n, w = person.shape
    left, right = guess.copy(), guess.copy()
    for i in range(n):
        c = round(float(axis[i]))
        if not 0 <= c < w or not person[i, c]:
            continue
        row = person[i]
        off_left = np.flatnonzero(~row[:c][::-1])
        off_right = np.flatnonzero(~row[c:])
        left[i] = (off_left[0] if off_left.size else c) + 0.5
        right[i] = (off_right[0] if off_right.size else w - c) - 0.5
    sigma = max(1.0, 0.05 * torso)
    out = []
    for side in (left, right):
        side = np.clip(side, 0.6 * guess, 2.5 * guess)
        out.append(gaussian_filter1d(side, sigma, mode="nearest"))
    return out[0], out[1]


def _torso_mask_mean(mask: np.ndarray, lm: np.ndarray) -> float:
    """Mean mask probability over the part of the shoulder-hip quadrilateral inside the image."""
    quad = np.round(lm[[_L_SHOULDER, _R_SHOULDER, _R_HIP, _L_HIP], :2]).astype(np.int32)
    region = np.zeros(mask.shape, np.uint8)
    cv2.fillPoly(region, [quad], 1)
    if not region.any():
        return 0.0
    return float(cv2.mean(mask, region)[0])


# -------------------------------------------------------------------- image modes


def _pixels(image: Image.Image) -> tuple[np.ndarray, str]:
    if image.mode not in ("L", "RGB", "RGBA"):
        has_alpha = image.mode in ("LA", "PA") or (image.mode == "P" and "transparency" in image.info)
        image = image.convert("RGBA" if has_alpha else "RGB")
    return np.ascontiguousarray(np.asarray(image)), image.mode


def _rgb(pixels: np.ndarray) -> np.ndarray:
    if pixels.ndim == 2:
        return np.ascontiguousarray(np.repeat(pixels[:, :, None], 3, axis=2))
    return np.ascontiguousarray(pixels[:, :, :3])


def _to_image(pixels: np.ndarray, mode: str) -> Image.Image:
    image = Image.fromarray(pixels)  # H x W -> L, H x W x 3 -> RGB, H x W x 4 -> RGBA
    assert image.mode == mode
    return image
