"""Fit the fingerprint's int8 activation ranges and PCA whitening on the test media's still images:
src/medialens/data/fingerprint_int8_ranges.json and src/medialens/data/fingerprint_pca.npz.

Fitted on images, never on the test videos, so the fingerprint tests measure copies of videos it has not seen.
Each image gives many views (centre and corner crops at several scales, each mirrored): ~1,000 inputs. The ranges
are calibrated on the float network (ONNX Runtime's percentile calibrator); the whitening is fitted on the
descriptors of the int8 network those ranges make, the one a pull builds (``convert/fingerprint_int8.py``).
After a new fit, pull mobilenet-v2 again (`medialens models pull mobilenet-v2 --force`) so that the installed
int8 network is the one the whitening was fitted on.

    PYTHONPATH=src python bench/fit_fingerprint_pca.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from medialens.analyses import fingerprint as fp  # noqa: E402
from medialens.config import Settings  # noqa: E402
from medialens.models.convert import MOBILENET_V2_ONNX  # noqa: E402
from medialens.models.convert import fingerprint_int8 as int8  # noqa: E402
from medialens.models.installed import model_path  # noqa: E402
from medialens.models.runtime import limit_blas_threads, session_options  # noqa: E402

DATA = REPO / "src" / "medialens" / "data"


def views(rgb: np.ndarray) -> list[np.ndarray]:
    h, w = rgb.shape[:2]
    out = [rgb]
    for scale in (0.85, 0.7, 0.55, 0.4):
        ch, cw = int(h * scale), int(w * scale)
        for y, x in ((h - ch) // 2, (w - cw) // 2), (0, 0), (0, w - cw), (h - ch, 0), (h - ch, w - cw):
            out.append(rgb[y : y + ch, x : x + cw])
    return out + [v[:, ::-1] for v in out]


def main() -> None:
    import onnxruntime as ort
    from tests.conftest import MEDIA, TEST_MODEL_DIR

    settings = Settings(model_dir=TEST_MODEL_DIR, model_threads=1)
    limit_blas_threads(settings)
    crops = []
    for path in sorted((MEDIA / "image").iterdir()):
        crops += views(np.asarray(Image.open(path).convert("RGB")))
    batches = [fp._inputs(crops[i : i + fp.BATCH]) for i in range(0, len(crops), fp.BATCH)]
    with tempfile.TemporaryDirectory(prefix="fit-fingerprint-") as tmp:
        work = Path(tmp)
        prepared = int8.prepared(model_path("mobilenet-v2", settings) / MOBILENET_V2_ONNX, work)  # the float network
        ranges = DATA / int8.RANGES
        int8.calibrate(prepared, batches, ranges, work)
        int8.quantize(prepared, ranges, work / "int8.onnx", work)
        session = ort.InferenceSession(str(work / "int8.onnx"), session_options(settings))
        x = fp._unit(np.concatenate([fp.rmac(session.run([fp.FEATURE_MAP], {"input": b})[0]) for b in batches]))
    mean = x.mean(axis=0)
    _u, s, vt = np.linalg.svd(x - mean, full_matrices=False)
    eig = (s**2) / len(x)
    proj = vt[: fp.DIM].T / np.power(eig[: fp.DIM] + 1e-9, fp.WHITEN_POWER)
    out = DATA / "fingerprint_pca.npz"
    np.savez_compressed(out, mean=mean.astype(np.float16), proj=proj.astype(np.float16))
    print(f"{len(x)} vectors: ranges -> {ranges} ({ranges.stat().st_size} bytes), whitening -> {out}")


if __name__ == "__main__":
    main()
