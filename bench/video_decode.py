"""Video analyses against the decoder's own speed, measured in one run on one clip.

The baseline is plain PyAV decoding every frame of a 60 s 1280x720 H.264 clip. Each other row is timed on the same
file in the same run, rounds alternating between rows (best of ROUNDS, because the machine may be shared), and
printed as a real-time factor and as its speed relative to the full decode. Target: every video analysis at least
as fast as decoding every frame (ratio >= 1.0), which only sampled, overlapped decoding can give.

A new video analysis is one more ``Analysis`` in ``analyses``: its row calls the analysis' public entry point the
way its task does (sampling included), without the service around it, and a second row times the analysis alone on
frames decoded beforehand, so the decoding's share of its time is the difference between the two.

Run: `make bench` (or `python bench/video_decode.py` with the niqe, mobilenet-v2 and nanodet models installed);
``--rounds N`` for fewer rounds, ``--clip FILE`` to time an existing video instead of writing the 60 s clip.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import av

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from tests.support import ensure_models

from clips import moving_clip
from medialens.analyses import fingerprint as fp
from medialens.analyses.video_classify import classify_video
from medialens.analyses.video_quality import assess_video
from medialens.config import Settings
from medialens.media.types import Frame, VideoInfo
from medialens.media.video import probe_video
from medialens.models.loader import get_pipeline
from medialens.tasks.intake import sampled_frames
from medialens.tasks.vod import dna_frames

ROUNDS = 3


@dataclass(frozen=True)
class Row:
    """One timed step over the clip; ``analysis`` rows are held to the target."""

    name: str
    run: Callable[[Path], object]
    analysis: bool = False


def full_decode(clip: Path) -> None:
    """The baseline: every frame decoded by plain PyAV, with FFmpeg's frame and slice threads as the service uses."""
    with av.open(str(clip)) as container:
        container.streams.video[0].thread_type = "AUTO"
        deque(container.decode(video=0), maxlen=0)


@dataclass(frozen=True)
class Analysis:
    """A video analysis as its task runs it: the task's sampling of the clip, then the analysis of those frames."""

    name: str
    sample: Callable[[Path, VideoInfo], Iterator[Frame]]
    analyse: Callable[[VideoInfo, Iterable[Frame]], object]

    def run(self, clip: Path, settings: Settings) -> object:
        info = probe_video(clip, settings=settings)
        return self.analyse(info, self.sample(clip, info))


def analyses(settings: Settings) -> list[Analysis]:
    niqe = get_pipeline("niqe", settings).model

    return [
        Analysis(
            "VideoQA", lambda clip, info: sampled_frames(clip, info, settings), lambda i, f: assess_video(i, f, niqe)
        ),
        Analysis(
            "ClassifyLabelVideo",
            lambda clip, info: sampled_frames(clip, info, settings, settings.video_classify_fps, exact=False),
            lambda info, frames: classify_video(frames, info, "", settings),
        ),
        # a reference print (all its views), as media_dna stores it
        Analysis(
            "VOD media DNA fingerprint",
            lambda clip, info: dna_frames(clip, info, settings),  # the job's own sampling (tasks/vod.py)
            lambda info, frames: fp.fingerprint(frames, settings),
        ),
    ]


def rows(settings: Settings) -> list[Row]:
    """The baseline, the sampled decodes alone, each analysis as its task runs it, and each analysis alone on frames
    decoded beforehand (its decoding share is the difference)."""

    def decode_only(fps: float | None) -> Callable[[Path], object]:
        def run(clip: Path) -> object:
            info = probe_video(clip, settings=settings)
            return deque(sampled_frames(clip, info, settings, fps, exact=fps is None), maxlen=0)

        return run

    def alone(analysis: Analysis) -> Callable[[Path], object]:
        decoded: dict[Path, tuple[VideoInfo, list[Frame]]] = {}  # filled by the untimed warm-up run

        def run(clip: Path) -> object:
            if clip not in decoded:
                info = probe_video(clip, settings=settings)
                decoded[clip] = (info, list(analysis.sample(clip, info)))
            info, frames = decoded[clip]
            return analysis.analyse(info, frames)

        return run

    table = [
        Row("full decode, every frame (plain PyAV)", full_decode),
        Row(f"sampled decode only, {settings.video_sample_fps:g} fps (VideoQA)", decode_only(None)),
        Row(
            f"sampled decode only, {settings.video_classify_fps:g} fps (classify)",
            decode_only(settings.video_classify_fps),
        ),
    ]
    for analysis in analyses(settings):
        table.append(Row(f"{analysis.name} bare analysis", partial(analysis.run, settings=settings), analysis=True))
        table.append(Row("  the analysis alone, on decoded frames", alone(analysis)))
    return table


def best_times(table: list[Row], clip: Path, rounds: int = ROUNDS) -> list[tuple[float, float]]:
    """(wall, CPU) seconds, best of ``rounds`` per row, the rows alternating within each round so that load changes hit
    them alike. CPU time (all threads of this process) tells work apart from waiting on a shared machine."""
    for row in table:  # warm-up: model loads, page cache
        row.run(clip)
    best = [(float("inf"), float("inf"))] * len(table)
    for _ in range(rounds):
        for i, row in enumerate(table):
            cpu, start = _cpu(), time.perf_counter()
            row.run(clip)
            best[i] = min(best[i], (time.perf_counter() - start, _cpu() - cpu))
    return best


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="timed rounds per row (best kept)")
    parser.add_argument("--clip", type=Path, default=None, help="time this video instead of the generated clip")
    args = parser.parse_args()
    settings = Settings(model_dir=ensure_models("niqe", "mobilenet-v2", "nanodet"))
    with tempfile.TemporaryDirectory() as tmp:
        clip = args.clip or moving_clip(Path(tmp) / "clip_720p_60s.mp4")
        info = probe_video(clip, settings=settings)
        table = rows(settings)
        times = best_times(table, clip, args.rounds)
    base, base_cpu = times[0]
    print(f"Video decoding vs analysis on a {info.duration_s:.0f} s {info.width}x{info.height} {info.codec} clip")
    print(f"(best of {args.rounds}; ratio = speed / full-decode speed, target >= 1.0 for analyses; CPU = all threads):")
    for row, (seconds, cpu) in zip(table, times, strict=True):
        target = "   (target >= 1.0)" if row.analysis else ""
        print(
            f"  {row.name:<40} {seconds:6.2f} s {info.duration_s / seconds:5.1f}x real time"
            f"  ratio {base / seconds:4.2f}   CPU {cpu:5.2f} s, ratio {base_cpu / cpu:4.2f}{target}"
        )


if __name__ == "__main__":
    main()
