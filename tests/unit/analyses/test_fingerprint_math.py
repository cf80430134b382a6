"""The fingerprint's fast paths agree with their plain definitions: R-MAC pooled channels-last, the batch input
normalisation, the alignment's BLAS product, and the first stage's one key per segment (views averaged)."""

from __future__ import annotations

import cv2
import numpy as np

from medialens.analyses import fingerprint as fp


def _plain_rmac(fmap: np.ndarray) -> np.ndarray:
    out = np.zeros(fmap.shape[:2], np.float32)
    for y0, x0, y1, x1 in fp._rmac_regions(*fmap.shape[2:]):
        region = fmap[:, :, y0:y1, x0:x1].max(axis=(2, 3))
        out += region / np.linalg.norm(region, axis=1, keepdims=True)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def test_rmac_matches_its_definition() -> None:
    fmap = np.random.default_rng(0).random((3, 64, 7, 9)).astype(np.float32)
    np.testing.assert_allclose(fp.rmac(fmap), _plain_rmac(fmap), atol=1e-6)


def test_batch_inputs_match_per_image_normalisation() -> None:
    rng = np.random.default_rng(1)
    images = [rng.integers(0, 256, (180, 320, 3), dtype=np.uint8)[:, ::-1], rng.integers(0, 256, (50, 60, 3), np.uint8)]
    for image, got in zip(images, fp._inputs(images), strict=True):
        x = cv2.resize(np.ascontiguousarray(image), (fp.SIDE, fp.SIDE), interpolation=cv2.INTER_AREA)
        want = ((x.astype(np.float32) / 255.0 - fp.MEAN) / fp.STD).transpose(2, 0, 1)
        np.testing.assert_allclose(got, want, atol=1e-5)


def test_views_similarity_is_every_dot_product() -> None:
    rng = np.random.default_rng(2)
    q, r = rng.standard_normal((4, 8)).astype(np.float32), rng.standard_normal((5, 3, 8)).astype(np.float32)
    np.testing.assert_allclose(fp._views_sim(q, r), np.einsum("id,jvd->ijv", q, r), rtol=1e-5, atol=1e-5)


def test_segment_keys_average_the_views() -> None:
    rng = np.random.default_rng(3)
    vectors = fp._unit(rng.standard_normal((26, 3, fp.DIM))).astype(np.float16)
    fpr = fp.Fingerprint(2.0, vectors)
    keys = fp.segment_means(fpr)
    per = int(fp.SEGMENT_S * 2.0)
    assert keys.shape == (3, fp.DIM)  # 10 + 10 + 6 frames: a last part over half a segment has its own key
    first = vectors[:per].astype(np.float32).mean(axis=(0, 1))
    np.testing.assert_allclose(keys[0], first / np.linalg.norm(first), atol=1e-5)
    full_only = vectors[:per, 0].astype(np.float32).mean(axis=0)
    np.testing.assert_allclose(fp.segment_means(fpr, 1)[0], full_only / np.linalg.norm(full_only), atol=1e-5)
