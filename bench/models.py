"""Per-model speed and memory of the offline bundle, measured in one run.

For every model of ``bundle_specs("offline")`` that has a pipeline and is installed: load time, batch-1 latency
(median and p90 of ``pipeline(item)`` after a warm-up), batch-8 throughput (``run_batch`` of 8 items) and the
speed-up of batch 8 over batch 1. Batch 8 is eight copies of the batch-1 input, so the speed-up is the batching
effect alone. Inputs are real media from tests/media, chosen per model (an OCR page for OCR, a two-person photo
for the face models with the faces that ``dlib-face`` finds in it, the 11 s JFK clip for the audio models, short
sentences for the text embedder, a grey photo for NIQE). Images and audio are decoded once up front (media/ decodes
before a model runs: pipelines take arrays, not paths); the clip's decoding time is printed separately.

All pipelines stay loaded for the whole run (they are loaded first, in bundle order), so the memory lines at the
end are for the whole bundle at once: current RSS after loading and peak RSS after every model has run.
Target: peak RSS <= 2 GB. Iteration counts are bounded by a time budget per model (whole run ~1-2 min on 2 cores).

Run: `make bench` (or `python bench/models.py` with the offline bundle installed).
"""

from __future__ import annotations

import importlib
import itertools
import os
import pkgutil
import resource
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image
from tests.conftest import MEDIA
from tests.support import ensure_models

from medialens.config import Settings
from medialens.media.audio import read_audio
from medialens.models import installed, pipelines
from medialens.models.pipeline import Pipeline
from medialens.models.registry import bundle_specs

BATCH = 8
TARGET_RSS_MB = 2048
# Heavy runtimes the pipelines import inside their constructors; imported first so "load s" is the model alone.
RUNTIMES = ("onnxruntime", "ai_edge_litert.interpreter", "dlib", "cv2", "av", "ctranslate2", "faster_whisper")
FACE_PHOTO = "face_rose_leslie_kit_harington.jpg"  # two people, 501 x 700
JFK = MEDIA / "audio" / "jfk_ask_not.flac"  # 11 s, 44.1 kHz stereo flac
# Passages (what gets embedded in bulk when indexing); queries would be split into a second engine call.
SENTENCES = [
    "passage: The cat sat on the warm windowsill all afternoon.",
    "passage: Press the power button for ten seconds to restart the router.",
    "passage: 最近的地铁站在人民广场。",
    "passage: A golden eagle soared over the valley at dawn.",
    "passage: The best budget laptops for students weigh under two kilograms.",
    "passage: The invoice is due within thirty days of delivery.",
    "passage: Rain is expected in Paris tomorrow afternoon.",
    "passage: Reset your password from the account settings page.",
]


class Skip(Exception):
    """This model cannot be benchmarked here (the reason is printed in its row)."""


@dataclass
class Case:
    item: Any
    """The batch-1 input (the warm-up call, and the output shown)."""
    source: str
    """What the input is, for the table."""
    summary: Callable[[Any], str]
    """One output → a few words showing the input was realistic (faces found, text read, ...)."""
    items: Sequence[Any] | None = None
    """The batch-8 inputs, also cycled through by the batch-1 runs; default: ``BATCH`` copies of ``item``."""
    slow: bool = False
    """Seconds per call: fewer runs."""


@dataclass
class Row:
    name: str
    task: str
    load_s: float | None = None
    load_mb: float | None = None
    run_mb: float | None = None
    b1_ms: tuple[float, float] | None = None
    b8_ips: float | None = None
    runs: str = ""
    source: str = ""
    output: str = ""
    note: str = ""


def rss_mb() -> tuple[float, float]:
    """(peak RSS, current RSS) of this process in MB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    current = float("nan")
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                current = int(line.split()[1]) / 1024
    except OSError:
        pass
    return peak, current


def timed(fn: Callable[[], Any], min_n: int, max_n: int, budget_s: float) -> list[float]:
    """Seconds per call of ``fn``: at least ``min_n`` calls, then more until ``budget_s`` or ``max_n``."""
    times: list[float] = []
    started = time.perf_counter()
    while len(times) < max_n and (len(times) < min_n or time.perf_counter() - started < budget_s):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


# ---------------------------------------------------------------------------------------------- inputs


_images: dict[str, Image.Image] = {}


def pil(name: str) -> Image.Image:
    if name not in _images:
        with Image.open(MEDIA / "image" / name) as im:
            _images[name] = im.convert("RGB")
    return _images[name]


def rgb(name: str) -> np.ndarray:
    return np.asarray(pil(name))


_audio: list[np.ndarray] = []


def jfk() -> np.ndarray:
    """The JFK clip as 16 kHz mono float32, decoded once (what the audio pipelines take)."""
    if not _audio:
        _audio.append(read_audio(JFK))
    return _audio[0]


_faces: dict[str, list[Any]] = {}


def dlib_faces(loaded: dict[str, Pipeline], name: str) -> list[Any]:
    """The faces ``dlib-face`` finds in an image (what the attribute models are fed in the service)."""
    if name not in _faces:
        if "dlib-face" not in loaded:
            raise Skip("needs dlib-face (not loaded) to find the faces it takes as input")
        faces = loaded["dlib-face"](rgb(name))
        if not faces:
            raise Skip(f"dlib-face found no face in {name}")
        _faces[name] = faces
    return _faces[name]


def case_for(name: str, loaded: dict[str, Pipeline]) -> Case:
    if name in ("ppocr-v4", "ppocr-v5"):
        return Case(
            rgb("ocr_en_scanned_page.png"),
            "ocr_en_scanned_page.png",
            lambda r: f"{len(r.lines)} lines",
        )
    if name == "silero-vad":
        return Case(
            jfk(),
            "jfk_ask_not.flac (11 s)",
            lambda r: f"{len(r.segments)} segments, speech {r.speech_s:.1f} s",
        )
    if name == "whisper-base":
        return Case(
            jfk(),
            "jfk_ask_not.flac (11 s)",
            lambda r: f"{r.language}: {r.text[:28]!r}",
            slow=True,
        )
    if name == "niqe":
        grey = np.asarray(pil("skimage_cat_chelsea.png").convert("L"), np.float32)
        return Case(grey, "skimage_cat_chelsea.png (grey)", lambda r: f"NIQE {r:.2f}")
    if name == "open-nsfw":
        return Case(rgb("face_alex_lacamoire_a.jpg"), "face_alex_lacamoire_a.jpg", lambda r: r.label)
    if name == "dlib-face":
        return Case(rgb(FACE_PHOTO), f"{FACE_PHOTO} (HOG)", lambda r: f"{len(r)} faces")
    if name == "age-gender":
        from medialens.models.pipelines.age_gender import AgeGenderRequest

        faces = dlib_faces(loaded, FACE_PHOTO)
        return Case(
            AgeGenderRequest(rgb(FACE_PHOTO), faces),
            f"{FACE_PHOTO}, {len(faces)} dlib faces",
            lambda r: ", ".join(f"{a.gender} {a.age:.0f}" for a in r),
        )
    if name == "fer-emotion":
        from medialens.models.pipelines.emotion import EmotionRequest

        faces = dlib_faces(loaded, FACE_PHOTO)
        return Case(
            EmotionRequest(rgb(FACE_PHOTO), faces),
            f"{FACE_PHOTO}, {len(faces)} dlib faces",
            lambda r: ", ".join(e.top for e in r),
        )
    if name == "mediapipe-face-detection":
        return Case(rgb(FACE_PHOTO), FACE_PHOTO, lambda r: f"{len(r)} faces")
    if name == "mediapipe-face-landmark":
        from medialens.models.pipelines.mediapipe_models import FaceMeshRequest

        faces = dlib_faces(loaded, FACE_PHOTO)
        return Case(
            FaceMeshRequest(rgb(FACE_PHOTO), faces),
            f"{FACE_PHOTO}, {len(faces)} dlib faces",
            lambda r: f"{len(r)} meshes, score {min((m.score for m in r), default=0):.2f}+",
        )
    if name == "mediapipe-selfie-segmentation":
        return Case(rgb(FACE_PHOTO), FACE_PHOTO, lambda r: f"person {float((r > 0.5).mean()):.0%} of pixels")
    if name == "mediapipe-pose":
        return Case(
            rgb(FACE_PHOTO),
            FACE_PHOTO,
            lambda r: "no person" if r is None else f"pose score {r.score:.2f}",
        )
    if name == "e5-small-q4":
        return Case(SENTENCES[0], "8 short passages", lambda r: f"dim {r.shape[-1]}", items=SENTENCES)
    if name == "mobilenet-v2":
        return Case(pil("skimage_cat_chelsea.png"), "skimage_cat_chelsea.png", lambda r: r.top(1)[0][1])
    if name == "nanodet":
        return Case(
            rgb("skimage_motorcycle.png"),
            "skimage_motorcycle.png",
            lambda r: ", ".join(sorted({d.label for d in r}))[:30] or "nothing",
        )
    raise Skip("no benchmark input written for this model")


# ---------------------------------------------------------------------------------------------- run


def import_pipeline_modules() -> dict[str, str]:
    """Import each pipeline module on its own; module -> error for those that do not import (work in progress)."""
    broken = {}
    for mod in pkgutil.iter_modules(pipelines.__path__):
        try:
            importlib.import_module(f"{pipelines.__name__}.{mod.name}")
        except Exception as err:
            broken[mod.name] = f"{type(err).__name__}: {err}"
    return broken


def import_runtimes() -> float:
    started = time.perf_counter()
    for module in RUNTIMES:
        try:
            importlib.import_module(module)
        except Exception as err:
            print(f"  (runtime {module} does not import: {type(err).__name__}: {err})")
    return time.perf_counter() - started


def bench(pipe: Pipeline, case: Case, row: Row) -> None:
    items = list(case.items) if case.items is not None else [case.item] * BATCH
    out = pipe(case.item)  # warm-up (also the output shown)
    row.output = case.summary(out)
    cycle = itertools.cycle(items)

    def one() -> None:
        pipe(next(cycle))

    if case.slow:
        b1 = timed(one, 3, 5, 4.0)
        b8 = timed(lambda: pipe.run_batch(items), 1, 2, 6.0)
    else:
        pipe.run_batch(items)  # warm-up of the batched shapes
        b1 = timed(one, 5, 200, 2.5)
        b8 = timed(lambda: pipe.run_batch(items), 2, 50, 2.5)
    row.b1_ms = (float(np.median(b1)) * 1000, float(np.percentile(b1, 90)) * 1000)
    row.b8_ips = len(items) / float(np.median(b8))
    row.runs = f"{len(b1)}/{len(b8)}"


def fmt(value: float | None, spec: str, width: int) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:{width}{spec}}"


def print_table(rows: list[Row]) -> None:
    head = (
        f"{'model':<30} {'task':<24} {'load s':>6} {'b1 ms':>8} {'b1 p90':>8} {'b8 it/s':>8} {'b8/b1':>6} "
        f"{'runs':>7} {'+MB ld':>6} {'+MB run':>7}  input -> output"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        if r.b1_ms is None:
            speed = fmt(None, "", 8) + " " + fmt(None, "", 8) + " " + fmt(None, "", 8) + " " + fmt(None, "", 6)
        else:
            b1_ips = 1000 / r.b1_ms[0]
            speed = f"{r.b1_ms[0]:8.1f} {r.b1_ms[1]:8.1f} {r.b8_ips:8.1f} {fmt(r.b8_ips / b1_ips, '.2f', 5)}x"
        detail = r.note if r.note else f"{r.source} -> {r.output}"
        mem = f"{fmt(r.load_mb, '.0f', 6)} {fmt(r.run_mb, '.0f', 7)}"
        print(f"{r.name:<30} {r.task:<24} {fmt(r.load_s, '.2f', 6)} {speed} {r.runs:>7} {mem}  {detail}")


def main() -> None:
    model_dir = ensure_models()  # the test model dir (`make bench` pulls the offline bundle into it)
    settings = Settings(model_dir=model_dir)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"offline bundle in {model_dir}; {cores} CPU cores; model_threads={settings.model_threads}")
    _, base_now = rss_mb()
    broken = import_pipeline_modules()
    for module, err in broken.items():
        print(f"  pipeline module {module} does not import (skipped): {err}")
    print(f"runtime imports: {import_runtimes():.2f} s (not counted in load s)")
    started = time.perf_counter()
    decode = timed(lambda: read_audio(JFK), 3, 3, 0)
    print(f"decoding {JFK.name} to 16 kHz mono: {np.median(decode) * 1000:.0f} ms (not in the audio rows)")

    rows: list[Row] = []
    loaded: dict[str, Pipeline] = {}
    for spec in bundle_specs("offline"):
        row = Row(spec.name, spec.task)
        rows.append(row)
        try:
            cls = pipelines.pipeline_class(spec.name)
        except Exception as err:  # KeyError: none written; others: a pipeline module that does not import
            row.note = "no pipeline"
            if not isinstance(err, KeyError):
                row.note += f" (lookup failed: {type(err).__name__}: {err})"
            if broken:
                row.note += f"; modules not importing: {', '.join(broken)}"
            continue
        if not installed.installed(spec.name, settings):
            row.note = f"not installed ({installed.pull_hint(spec.name)})"
            continue
        before = rss_mb()[1]
        t0 = time.perf_counter()
        try:
            loaded[spec.name] = cls(installed.model_files(spec.name, settings), settings)
        except Exception as err:
            row.note = f"skipped: load failed ({type(err).__name__}: {err})"
            continue
        row.load_s = time.perf_counter() - t0
        row.load_mb = rss_mb()[1] - before
    _, loaded_now = rss_mb()

    for row in rows:
        pipe = loaded.get(row.name)
        if pipe is None:
            continue
        before = rss_mb()[1]
        try:
            case = case_for(row.name, loaded)
            row.source = case.source
            bench(pipe, case, row)
            row.run_mb = rss_mb()[1] - before
        except Skip as why:
            row.note = f"skipped: {why}"
        except Exception as err:
            row.note = f"skipped: failed ({type(err).__name__}: {err})"
        print(f"  {row.name}: done", flush=True)
    print()
    print_table(rows)
    print(
        "b1 ms: batch-1 latency of pipeline(item) (median, p90); b8 it/s: run_batch of 8 items, items/s (median);"
        " b8/b1: b8 it/s over batch-1 items/s; runs: batch-1 / batch-8 timed runs;\n"
        "+MB ld / +MB run: VmRSS growth while loading the model / while benchmarking it (approximate: allocator)"
    )

    peak, now = rss_mb()
    print()
    print(f"whole bundle loaded at once: {len(loaded)} pipelines alive ({', '.join(loaded)})")
    print(f"  RSS before loading any model (python, numpy, medialens): {base_now:7.0f} MB")
    print(f"  RSS with every pipeline loaded, before inference (VmRSS): {loaded_now:7.0f} MB")
    print(f"  RSS now, after every model ran (VmRSS):                  {now:7.0f} MB")
    verdict = "OK" if peak <= TARGET_RSS_MB else "OVER"
    print(f"  peak RSS of the process (ru_maxrss):                     {peak:7.0f} MB   (target <= 2 GB: {verdict})")
    print(f"bench time: {time.perf_counter() - started:.1f} s")
    for pipe in loaded.values():
        pipe.close()


if __name__ == "__main__":
    main()
