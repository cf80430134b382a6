"""Fixed-size embeddings of images, videos and posts: fixed random orthonormal projections of model features.

* Image, 512-d (PAI MultiLabelImageV2 ``embedding_result``): the 1280-d pooled MobileNetV2 features projected
  by a 1280 x 512 matrix with orthonormal columns.
* Video, 64-d (ClassifyLabelVideo): the mean of the frames' 1280-d features, projected to 64.
* Post, 32-d (MultiModalClassify): the concatenation of the unit visual features (1280, zeros without
  images or video) and the unit e5 text embedding (384, zeros without text), projected from 1664 to 32.

Each output is L2-normalised, so the dot product of two embeddings is their cosine similarity.

Why a random projection: there is no labelled corpus shipped with medialens from which a PCA basis could be
justified, and a random orthonormal projection preserves inner products (and so cosines) up to an error of
about 1/sqrt(d) (Johnson-Lindenstrauss): small at 512-d, coarser at 64 and 32. The matrices are generated,
not shipped: ``numpy.random.Generator(PCG64(seed))`` draws a standard-normal matrix and its QR decomposition
(float64) gives the orthonormal columns (signs fixed so that R has a positive diagonal). NumPy keeps PCG64 and
``standard_normal`` stream-compatible across platforms, so every machine gets the same matrix (to float32
rounding; outputs are published with three decimals). The seeds are part of the format: changing one
changes every stored vector.
"""

from __future__ import annotations

import functools

import numpy as np

IMAGE_FEATURE_DIM = 1280
TEXT_DIM = 384
IMAGE_EMBEDDING_DIM = 512
VIDEO_EMBEDDING_DIM = 64
POST_EMBEDDING_DIM = 32

IMAGE_SEED = 20261101
VIDEO_SEED = 20261102
POST_SEED = 20261103


@functools.cache
def projection(in_dim: int, out_dim: int, seed: int) -> np.ndarray:
    """An ``(in_dim, out_dim)`` float32 matrix with orthonormal columns, fixed by ``seed`` (PCG64)."""
    if not 0 < out_dim <= in_dim:
        raise ValueError(f"cannot project {in_dim} dimensions to {out_dim}")
    rng = np.random.Generator(np.random.PCG64(seed))
    gauss = rng.standard_normal((in_dim, out_dim))
    q, r = np.linalg.qr(gauss)
    q = q * np.where(np.diag(r) < 0, -1.0, 1.0)[None, :]
    out = q.astype(np.float32)
    out.setflags(write=False)
    return out


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float32)
    n = float(np.linalg.norm(x))
    return x / n if n > 0 else x


def _check(x: np.ndarray, dim: int, what: str) -> np.ndarray:
    v = np.asarray(x, np.float32).reshape(-1)
    if v.shape != (dim,):
        raise ValueError(f"{what} must have {dim} values, got {v.shape[0]}")
    return v


def image_embedding(features: np.ndarray) -> np.ndarray:
    """512-d unit embedding of one image's 1280-d MobileNetV2 features."""
    v = _check(features, IMAGE_FEATURE_DIM, "image features")
    return _unit(v @ projection(IMAGE_FEATURE_DIM, IMAGE_EMBEDDING_DIM, IMAGE_SEED))


def video_embedding(features: np.ndarray) -> np.ndarray:
    """64-d unit embedding of a video: its frames' mean 1280-d MobileNetV2 features, projected."""
    v = _check(features, IMAGE_FEATURE_DIM, "video features")
    return _unit(v @ projection(IMAGE_FEATURE_DIM, VIDEO_EMBEDDING_DIM, VIDEO_SEED))


def post_embedding(visual_features: np.ndarray | None, text_embedding: np.ndarray | None) -> np.ndarray:
    """32-d unit embedding of a post: [unit visual features (1280) ; unit e5 text embedding (384)], projected.

    Either part may be None (no images/video, or no text): its block is zeros. Both None gives zeros.
    """
    vis = np.zeros(IMAGE_FEATURE_DIM, np.float32)
    txt = np.zeros(TEXT_DIM, np.float32)
    if visual_features is not None:
        vis = _unit(_check(visual_features, IMAGE_FEATURE_DIM, "visual features"))
    if text_embedding is not None:
        txt = _unit(_check(text_embedding, TEXT_DIM, "text embedding"))
    joint = np.concatenate([vis, txt])
    return _unit(joint @ projection(IMAGE_FEATURE_DIM + TEXT_DIM, POST_EMBEDDING_DIM, POST_SEED))
