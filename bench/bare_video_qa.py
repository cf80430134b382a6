"""The bare VideoQA analysis (probe, decode, NIQE) of one local clip, N times, in this process: no server, queue,
database or download. bench/load.py runs it in 1 and then 2 processes at once to learn how far this machine
itself lets two single-threaded workers scale, the ceiling the cluster's own ratio is judged against.

  python bench/bare_video_qa.py CLIP N

It loads and warms up, prints "ready", waits for a line on stdin (so that several processes start together), then
prints the seconds its N runs took.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from medialens.analyses.video_quality import assess_video
from medialens.config import Settings
from medialens.media.video import probe_video
from medialens.models.loader import get_pipeline
from medialens.models.runtime import prepare_process
from medialens.tasks.intake import sampled_frames


def main() -> None:
    clip, n = Path(sys.argv[1]), int(sys.argv[2])
    settings = Settings(model_threads=1, decode_threads=1)
    prepare_process(settings)  # as a worker does
    model = get_pipeline("niqe", settings).model
    info = probe_video(clip, settings=settings)
    assess_video(info, sampled_frames(clip, info, settings), model)  # warm
    print("ready", flush=True)
    sys.stdin.readline()
    started = time.perf_counter()
    for _ in range(n):
        info = probe_video(clip, settings=settings)
        assess_video(info, sampled_frames(clip, info, settings), model)
    print(f"{time.perf_counter() - started:.4f}")


if __name__ == "__main__":
    main()
