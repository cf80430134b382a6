"""Fixed projections behind the 512-d image, 64-d video and 32-d post embeddings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from medialens.analyses import embedding as E
from tests.conftest import MEDIA

_HASH = (
    "import hashlib; from medialens.analyses import embedding as E; "
    "print(hashlib.sha256(E.projection(1280, 512, E.IMAGE_SEED).round(6).tobytes()).hexdigest())"
)


def test_projection_is_orthonormal_and_pinned() -> None:
    p = E.projection(E.IMAGE_FEATURE_DIM, E.IMAGE_EMBEDDING_DIM, E.IMAGE_SEED)
    assert p.shape == (1280, 512) and p.dtype == np.float32
    np.testing.assert_allclose(p.T @ p, np.eye(512), atol=1e-5)
    # Pinned: a change of NumPy's PCG64/standard_normal stream (or of the seed) would change every stored vector.
    np.testing.assert_allclose(p[0, :3], [-0.04956472, -0.05082528, 0.02886933], atol=1e-6)
    np.testing.assert_allclose(p[1279, -2:], [-0.00287744, 0.00125725], atol=1e-6)
    np.testing.assert_allclose(
        E.projection(1280, 64, E.VIDEO_SEED)[0, :3], [0.03416352, -0.00438522, 0.01716533], atol=1e-6
    )
    np.testing.assert_allclose(
        E.projection(1664, 32, E.POST_SEED)[0, :3], [0.03664334, 0.04968239, -0.04295774], atol=1e-6
    )
    with pytest.raises(ValueError):
        E.projection(32, 64, 1)


def test_same_matrix_in_another_process() -> None:
    here = subprocess.run([sys.executable, "-c", _HASH], capture_output=True, text=True, check=True).stdout
    there = subprocess.run([sys.executable, "-c", _HASH], capture_output=True, text=True, check=True).stdout
    import hashlib

    local = hashlib.sha256(E.projection(1280, 512, E.IMAGE_SEED).round(6).tobytes()).hexdigest()
    assert here.strip() == there.strip() == local


def test_dimensions_units_and_determinism() -> None:
    rng = np.random.default_rng(0)
    x = rng.random(1280).astype(np.float32)
    a, b = E.image_embedding(x), E.image_embedding(x.copy())
    assert a.shape == (512,) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert abs(float(np.linalg.norm(a)) - 1) < 1e-5
    v = E.video_embedding(x)
    assert v.shape == (64,) and abs(float(np.linalg.norm(v)) - 1) < 1e-5
    t = rng.standard_normal(384).astype(np.float32)
    for vis, txt in ((x, t), (x, None), (None, t)):
        p = E.post_embedding(vis, txt)
        assert p.shape == (32,) and abs(float(np.linalg.norm(p)) - 1) < 1e-5
    assert not np.any(E.post_embedding(None, None))
    assert not np.allclose(E.post_embedding(x, None), E.post_embedding(None, t))
    with pytest.raises(ValueError):
        E.image_embedding(np.zeros(100))
    with pytest.raises(ValueError):
        E.post_embedding(None, np.zeros(100))


def _pairwise_cosines(m: np.ndarray) -> np.ndarray:
    m = m / np.linalg.norm(m, axis=1, keepdims=True)
    return (m @ m.T)[np.triu_indices(len(m), 1)]


def test_cosines_preserved_on_real_image_features() -> None:
    from medialens.config import Settings
    from medialens.models.pipelines.imagenet import MobileNetV2Pipeline
    from tests.support import ensure_models

    pipe = MobileNetV2Pipeline(ensure_models("mobilenet-v2") / "mobilenet-v2", Settings(model_threads=2))
    paths = sorted(Path(MEDIA / "image").glob("*"))
    assert len(paths) >= 10
    feats = np.stack([r.features for r in pipe.run_batch([Image.open(p).convert("RGB") for p in paths])])
    before = _pairwise_cosines(feats)
    after = _pairwise_cosines(np.stack([E.image_embedding(f) for f in feats]))
    r512 = float(np.corrcoef(before, after)[0, 1])
    r64 = float(np.corrcoef(before, _pairwise_cosines(np.stack([E.video_embedding(f) for f in feats])))[0, 1])
    print(f"pairs={len(before)} r512={r512:.3f} max|d|={np.abs(before - after).max():.3f} r64={r64:.3f}")
    assert r512 > 0.9  # measured 0.976 on the 23 shared images
    assert np.abs(before - after).max() < 0.15
    assert r64 > 0.5  # 64-d keeps coarser similarity (measured 0.77)
