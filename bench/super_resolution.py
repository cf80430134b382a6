"""Model Hub ``video_super_resolution`` (offline tier: Lanczos x2 + unsharp mask): speed in video seconds per second.

For each shared video, the first ``SPAN_S`` seconds through the bare task in this process (download from a
loopback server, up-scale every frame, re-encode at twice the size), against a plain re-encode of the same span at
the source's size (decode + H.264 encode, no up-scaling): the printed ratio says what the up-scaling and the
four-times-larger encode cost on top of the transcode.

Run: `python bench/super_resolution.py`. Figures move with the machine's load: compare the ratios of one run.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import MEDIA
from tests.support import media_server

from medialens.analyses.super_resolution import upscale_video
from medialens.config import Settings
from medialens.tasks import TaskContext, TaskInput, get_task

VIDEOS = ("eye_makeup.avi", "basketball_gym.mp4", "intel_bottles.mp4", "intel_cars_parking_lot.mp4")
SPAN_S = 4.0


def _task(settings: Settings, url: str) -> tuple[float, float]:
    ctx = TaskContext(settings=settings, workdir=Path(tempfile.mkdtemp()))
    t = time.perf_counter()
    out = get_task("video_super_resolution").run(ctx, TaskInput(url=url, options={"play_duration_s": SPAN_S}))
    return time.perf_counter() - t, out.duration_s


def _transcode(path: Path) -> float:
    t = time.perf_counter()
    upscale_video(path, Path(tempfile.mkdtemp()) / "same.mp4", SPAN_S, lambda rgb: rgb, scale=1)
    return time.perf_counter() - t


def main() -> None:
    data = Path(tempfile.mkdtemp(prefix="bench-sr-"))
    settings = Settings(data_dir=data, allow_private_urls=True)
    with media_server(MEDIA / "video") as base:
        _task(settings, f"{base}/{VIDEOS[0]}")  # warm-up: codecs initialised
        print(f"{'video':28} {'span s':>6} {'task s':>7} {'video s/s':>9} {'transcode s':>11} {'task/transcode':>14}")
        total_video = total_task = 0.0
        for name in VIDEOS:
            task, span = _task(settings, f"{base}/{name}")
            plain = _transcode(MEDIA / "video" / name)
            total_video, total_task = total_video + span, total_task + task
            print(f"{name:28} {span:6.1f} {task:7.2f} {span / task:9.2f} {plain:11.2f} {task / plain:14.1f}")
        print(f"{'all':28} {total_video:6.1f} {total_task:7.2f} {total_video / total_task:9.2f}")


if __name__ == "__main__":
    main()
