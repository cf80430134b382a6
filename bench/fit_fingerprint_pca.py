"""Fit the fingerprint's PCA whitening (src/medialens/data/fingerprint_pca.npz) on the test media's still images.

Fitted on images, never on the test videos, so the fingerprint tests measure copies of videos it has not seen.
Each image gives many views (centre and corner crops at several scales, each mirrored): ~1,000 R-MAC vectors.

    PYTHONPATH=src python bench/fit_fingerprint_pca.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from medialens.analyses import fingerprint as fp  # noqa: E402
from medialens.config import Settings  # noqa: E402


def views(rgb: np.ndarray) -> list[np.ndarray]:
    h, w = rgb.shape[:2]
    out = [rgb]
    for scale in (0.85, 0.7, 0.55, 0.4):
        ch, cw = int(h * scale), int(w * scale)
        for y, x in ((h - ch) // 2, (w - cw) // 2), (0, 0), (0, w - cw), (h - ch, 0), (h - ch, w - cw):
            out.append(rgb[y : y + ch, x : x + cw])
    return out + [v[:, ::-1] for v in out]


def main() -> None:
    from tests.conftest import MEDIA, TEST_MODEL_DIR

    settings = Settings(model_dir=TEST_MODEL_DIR)
    crops = []
    for path in sorted((MEDIA / "image").iterdir()):
        rgb = np.asarray(Image.open(path).convert("RGB"))
        crops += views(rgb)
    x = fp._unit(fp.raw_descriptors(crops, settings))
    mean = x.mean(axis=0)
    _u, s, vt = np.linalg.svd(x - mean, full_matrices=False)
    eig = (s**2) / len(x)
    proj = vt[: fp.DIM].T / np.power(eig[: fp.DIM] + 1e-9, fp.WHITEN_POWER)
    out = REPO / "src" / "medialens" / "data" / "fingerprint_pca.npz"
    np.savez_compressed(out, mean=mean.astype(np.float16), proj=proj.astype(np.float16))
    print(f"{len(x)} vectors -> {out} ({out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
