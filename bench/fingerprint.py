"""Video fingerprinting figures (README "VOD"): recall and precision per transform on copies of all 13 test
videos, extraction speed on 720p against plain decoding, and query time against a library of 10,000.

    PYTHONPATH=src:. python bench/fingerprint.py [--out DIR]
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from medialens.analyses import fingerprint as fp  # noqa: E402
from medialens.config import Settings  # noqa: E402
from medialens.media.video import iter_frames  # noqa: E402


def fingerprint(path: Path, settings: Settings, reference: bool) -> fp.Fingerprint:
    frames = iter_frames(path, sample_fps=fp.SAMPLE_FPS, max_side=512, threads=1)
    return fp.fingerprint(frames, settings, reference=reference)


def accuracy(out: Path, settings: Settings) -> None:
    from tests import vod_variants as vv
    from tests.conftest import MEDIA

    index, copies = fp.FingerprintIndex(), {}
    for src in sorted((MEDIA / "video").iterdir()):
        original, frames, rate = vv.make_original(src, out / f"{src.stem}.mp4")
        index.add(src.stem, fingerprint(original, settings, True))
        for t in vv.TRANSFORMS:
            path = vv.make_copy(frames, rate, t, out / f"{src.stem}.{t.replace('+', '_')}.mp4")
            if path is not None:
                copies[(src.stem, t)] = fingerprint(path, settings, False)
    per = collections.defaultdict(lambda: [0, 0])
    false_matches, negatives = [], 0
    for (name, t), query in copies.items():
        found = {key: m for key, m in index.query(query)}
        per[t][0] += name in found
        per[t][1] += 1
        negatives += len(index) - 1
        false_matches += [(name, t, key, m.similarity) for key, m in found.items() if key != name]
    hits, total = sum(v[0] for v in per.values()), sum(v[1] for v in per.values())
    print(f"{len(index)} videos, {total} copies, {negatives} negative pairs")
    print("| transform | found |")
    print("|---|---|")
    for t, (h, n) in per.items():
        print(f"| {t} | {h}/{n} ({h / n:.2f}) |")
    print(f"recall {hits / total:.3f}, precision {hits / (hits + len(false_matches)):.3f}")
    print(f"false matches {len(false_matches)} of {negatives}: {false_matches[:5]}")


def speed(out: Path, settings: Settings) -> None:
    import cv2
    from tests.conftest import MEDIA
    from tests.vod_variants import frames_of, write

    frames, rate = frames_of(MEDIA / "video" / "intel_bottles.mp4")  # the first 15 s
    clip = write(out / "bottles_720p.mp4", (cv2.resize(f, (1280, 720)) for f in frames), rate, 23)
    duration = len(frames) / rate
    t0 = time.perf_counter()
    with av.open(str(clip)) as c:
        for _ in c.decode(video=0):
            pass
    decode = time.perf_counter() - t0
    for reference in (False, True):
        t0 = time.perf_counter()
        fingerprint(clip, settings, reference)
        took = time.perf_counter() - t0
        kind = "reference (6 views)" if reference else "query (1 view)"
        print(f"720p {kind}: {duration / took:.1f}x real time; {took / decode:.1f}x plain decoding ({decode:.2f} s)")

    rng = np.random.default_rng(0)
    index = fp.FingerprintIndex()
    for i in range(10_000):  # 30 s references: random unit frames, 6 views each
        v = rng.standard_normal((60, 6, fp.DIM)).astype(np.float32)
        index.add(f"r{i}", fp.Fingerprint(fp.SAMPLE_FPS, fp._unit(v).astype(np.float16)))
    query = fp.Fingerprint(fp.SAMPLE_FPS, index["r1234"].vectors[10:30])
    index.query(query)  # builds the first stage's matrix
    t0 = time.perf_counter()
    n = 20
    for _ in range(n):
        found = index.query(query)
    took = (time.perf_counter() - t0) / n
    print(f"query against {len(index)} fingerprints: {took * 1000:.1f} ms (found {[k for k, _ in found]})")


def main() -> None:
    from tests.conftest import TEST_MODEL_DIR

    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--only", choices=("accuracy", "speed"), default=None)
    args = parser.parse_args()
    settings = Settings(model_dir=TEST_MODEL_DIR, model_threads=2)
    out = args.out or Path(tempfile.mkdtemp(prefix="fingerprint-bench-"))
    out.mkdir(parents=True, exist_ok=True)
    if args.only in (None, "accuracy"):
        accuracy(out, settings)
    if args.only in (None, "speed"):
        speed(out, settings)


if __name__ == "__main__":
    main()
