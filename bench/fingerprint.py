"""Video fingerprinting figures (README "VOD"): recall and precision per transform on copies of all 13 test
videos, extraction speed on 720p against plain decoding, and query time against a library of 10,000.

The match threshold (``VIDEO_MATCH``) is chosen on the copies of every other test video (``CHOOSE``: the hardest
negative score there, plus a margin) and recall is reported on the other videos' copies separately, then on all.
Every copy is matched the way a DNA job matches it: the library's first stage, then the alignment.

    PYTHONPATH=src:. python bench/fingerprint.py [--out DIR] [--only accuracy|speed]
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
from medialens.media.video import probe_video  # noqa: E402
from medialens.models.runtime import prepare_process  # noqa: E402
from medialens.tasks.vod import dna_frames  # noqa: E402

MARGIN = 0.005


def fingerprint(path: Path, settings: Settings, reference: bool) -> fp.Fingerprint:
    """What a DNA job computes (the same frames; ``reference`` False keeps only the full view, as a query uses)."""
    return fp.fingerprint(
        dna_frames(path, probe_video(path, settings=settings), settings), settings, reference=reference
    )


def accuracy(out: Path, settings: Settings) -> None:
    from tests import vod_variants as vv
    from tests.conftest import MEDIA

    sources = sorted((MEDIA / "video").iterdir())
    choose = {src.stem for src in sources[0::2]}
    index, copies = fp.FingerprintIndex(), {}
    for src in sources:
        original, frames, rate = vv.make_original(src, out / f"{src.stem}.mp4")
        index.add(src.stem, fingerprint(original, settings, True))
        for t in vv.TRANSFORMS:
            path = vv.make_copy(frames, rate, t, out / f"{src.stem}.{t.replace('+', '_')}.mp4")
            if path is not None:
                copies[(src.stem, t)] = fingerprint(path, settings, False)

    hardest = max(
        fp.similarity(query, index[key])
        for (name, _), query in copies.items()
        if name in choose
        for key in index.ids
        if key != name
    )
    print(
        f"threshold: hardest negative among the chosen half's copies {hardest:.3f} + {MARGIN} = "
        f"{hardest + MARGIN:.3f}; shipped VIDEO_MATCH {fp.VIDEO_MATCH}"
    )

    per: dict[str, dict[str, list[int]]] = collections.defaultdict(lambda: collections.defaultdict(lambda: [0, 0]))
    wrong: dict[str, list] = collections.defaultdict(list)
    for (name, t), query in copies.items():
        found = {key: m for key, m in index.query(query)}
        for half in ("chosen" if name in choose else "reported", "all"):
            per[half][t][0] += name in found
            per[half][t][1] += 1
            wrong[half] += [(name, t, key, m.similarity) for key, m in found.items() if key != name]
    print(
        f"{len(index)} videos ({len(choose)} chosen on: {', '.join(sorted(choose))}), {len(copies)} copies, "
        f"{len(copies) * (len(index) - 1)} negative pairs"
    )
    print("| transform | chosen half | reported half | all |")
    print("|---|---|---|---|")
    for t in vv.TRANSFORMS:
        cells = [f"{per[h][t][0]}/{per[h][t][1]}" for h in ("chosen", "reported", "all")]
        print(f"| {t} | {' | '.join(cells)} |")
    cells = []
    for half in ("chosen", "reported", "all"):
        hits, total = sum(v[0] for v in per[half].values()), sum(v[1] for v in per[half].values())
        negs = total * (len(index) - 1)
        precision = hits / max(1, hits + len(wrong[half]))
        cells.append(f"recall {hits / total:.3f}, precision {precision:.3f} ({len(wrong[half])} of {negs} negatives)")
    print(f"| **all** | {' | '.join(cells)} |")
    print(f"false matches: {wrong['all'][:5]}")


def speed(out: Path, settings: Settings) -> None:
    import cv2
    from tests.conftest import MEDIA
    from tests.vod_variants import frames_of, write

    frames, rate = frames_of(MEDIA / "video" / "intel_bottles.mp4")  # the first 15 s
    big = [cv2.resize(f, (1280, 720)) for f in frames]
    clips = {
        # libx264's default preset (B frames, CABAC, deblocking): how uploads usually are
        "x264 default preset (B-frames, CABAC)": write(out / "bottles_720p_default.mp4", iter(big), rate, 23, "medium"),
        "x264 ultrafast (no B-frames)": write(out / "bottles_720p_ultrafast.mp4", iter(big), rate, 23),
    }
    duration = len(frames) / rate
    for label, clip in clips.items():
        _speed_of(clip, f"15 s of 1280x720 H.264, {label} ({len(frames)} frames)", duration, settings)


def _speed_of(clip: Path, label: str, duration: float, settings: Settings) -> None:
    info = probe_video(clip, settings=settings)

    def plain() -> None:  # every frame, FFmpeg's default threads (its fastest)
        with av.open(str(clip)) as c:
            stream = c.streams.video[0]
            stream.thread_type = "AUTO"
            for _ in c.decode(stream):
                pass

    runs = {
        "plain decoding (every frame)": plain,
        "sampled decode only (2 fps, 320 px, 1 thread)": lambda: sum(1 for _ in dna_frames(clip, info, settings)),
        "query fingerprint (1 view)": lambda: fingerprint(clip, settings, False),
        "DNA job fingerprint (3 views, 2.5 network runs a frame)": lambda: fingerprint(clip, settings, True),
    }
    fingerprint(clip, settings, True)  # loads the model
    took, cpu = {}, {}
    for name, run in runs.items():
        took[name] = cpu[name] = float("inf")
        for _ in range(3):
            t0, c0 = time.perf_counter(), time.process_time()
            run()
            took[name] = min(took[name], time.perf_counter() - t0)
            cpu[name] = min(cpu[name], time.process_time() - c0)
    decode, decode_cpu = took["plain decoding (every frame)"], cpu["plain decoding (every frame)"]
    print(f"{label}, best of 3 (CPU time: all threads, less moved by load):")
    for name, t in took.items():
        print(
            f"  {name}: {t:.2f} s, {duration / t:.1f}x real time, {t / decode:.2f}x plain decoding's time; "
            f"CPU {cpu[name]:.2f} s, {cpu[name] / decode_cpu:.2f}x plain decoding's "
            f"(at most {duration / (cpu[name] / 2):.1f}x real time on 2 idle cores)"
        )
    print(f"load average: {Path('/proc/loadavg').read_text().split()[:3]}")


def query_speed() -> None:
    """A 10-s query against a library of 10,000 fingerprints of 30 s."""
    rng = np.random.default_rng(0)
    index = fp.FingerprintIndex()
    for i in range(10_000):  # 30 s references: random unit frames, every view
        v = rng.standard_normal((60, len(fp.VIEWS), fp.DIM)).astype(np.float32)
        index.add(f"r{i}", fp.Fingerprint(fp.SAMPLE_FPS, fp._unit(v).astype(np.float16)))
    query = fp.Fingerprint(fp.SAMPLE_FPS, index["r1234"].vectors[10:30, :1])
    index.query(query)  # builds the first stage's matrix
    n = 20
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(n):
        found = index.query(query)
    took_q, cpu_q = (time.perf_counter() - t0) / n, (time.process_time() - c0) / n
    print(
        f"query (10 s) against {len(index)} fingerprints of 30 s: {took_q * 1000:.1f} ms "
        f"({cpu_q * 1000:.1f} ms of CPU; found {[k for k, _ in found]})"
    )


def main() -> None:
    from tests.conftest import TEST_MODEL_DIR

    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--only", choices=("accuracy", "speed"), default=None)
    args = parser.parse_args()
    settings = Settings(model_dir=TEST_MODEL_DIR, model_threads=2)
    prepare_process(settings)  # as a worker does
    out = args.out or Path(tempfile.mkdtemp(prefix="fingerprint-bench-"))
    out.mkdir(parents=True, exist_ok=True)
    if args.only in (None, "accuracy"):
        accuracy(out, settings)
    if args.only in (None, "speed"):
        speed(out, settings)
        query_speed()


if __name__ == "__main__":
    main()
