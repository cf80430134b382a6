"""Model Hub ``video_highlight``: speed in video seconds per second, and what the queue adds.

For each shared video: the bare task in this process (download from a loopback server, score every second,
re-encode the clip), against decoding alone (the same 2-fps sampled frames, nothing else), so the printed ratio
says what scoring and encoding cost on top of the decode. Then one request through the official ``QueueClient``
(put -> get by request id) to a live server, against the bare task on the same file: the queue's overhead.

Run: `python bench/highlight.py` (dlib-face installed; eas-prediction==0.36 for the queue part).
Figures move with the machine's load: compare the ratios, printed from one run.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import MEDIA
from tests.e2e.eas_queue_client import QueueClients
from tests.support import ensure_models, live_server, media_server

from medialens.analyses.highlight import SAMPLE_FPS
from medialens.config import Settings
from medialens.media.video import probe_video
from medialens.tasks import TaskContext, TaskInput, get_task
from medialens.tasks.intake import sampled_frames

VIDEOS = ("eye_makeup.avi", "basketball_gym.mp4", "intel_cars_parking_lot.mp4", "intel_bottles.mp4")


def _bare(settings: Settings, url: str) -> float:
    ctx = TaskContext(settings=settings, workdir=Path(tempfile.mkdtemp()))
    t = time.perf_counter()
    get_task("video_highlight").run(ctx, TaskInput(url=url))
    return time.perf_counter() - t


def _decode(settings: Settings, path: Path) -> float:
    t = time.perf_counter()
    info = probe_video(path, settings=settings)
    for _ in sampled_frames(path, info, settings, SAMPLE_FPS, exact=False):
        pass
    return time.perf_counter() - t


def main() -> None:
    models = ensure_models("dlib-face")
    data = Path(tempfile.mkdtemp(prefix="bench-highlight-"))
    settings = Settings(data_dir=data / "bare", model_dir=models, allow_private_urls=True)
    with media_server(MEDIA / "video") as base:
        _bare(settings, f"{base}/{VIDEOS[0]}")  # warm-up: models loaded, codecs initialised
        print(f"{'video':28} {'length s':>8} {'task s':>7} {'video s/s':>9} {'decode s':>8} {'task/decode':>11}")
        total_video = total_task = 0.0
        for name in VIDEOS:
            length = probe_video(MEDIA / "video" / name, settings=settings).duration_s
            task = _bare(settings, f"{base}/{name}")
            decode = _decode(settings, MEDIA / "video" / name)
            total_video, total_task = total_video + length, total_task + task
            print(f"{name:28} {length:8.1f} {task:7.2f} {length / task:9.1f} {decode:8.2f} {task / decode:11.1f}")
        print(f"{'all':28} {total_video:8.1f} {total_task:7.2f} {total_video / total_task:9.1f}")

        srv = live_server(data / "server", allow_private_urls="true", workers="1")
        token = json.loads(srv.cli("services", "deploy", "video_highlight", "--json"))["token"]
        srv.start()
        eas = QueueClients(srv.base_url)
        try:
            name = "intel_cars_parking_lot.mp4"
            body = json.dumps({"input": {"url": f"{base}/{name}"}}).encode()
            eas.call("video_highlight", token, "attributes")  # the child process started
            eas.call("video_highlight", token, "put", body)  # warm-up of the server's worker
            eas.call("video_highlight/sink", token, "get", timeout="55s")
            t = time.perf_counter()
            _, request_id = eas.call("video_highlight", token, "put", body)
            (frame,) = eas.call("video_highlight/sink", token, "get", request_id=request_id, timeout="55s")
            queued = time.perf_counter() - t
            assert json.loads(frame[1])["success"] is True
            bare = _bare(settings, f"{base}/{name}")
            print(f"queue put -> get ({name}): {queued:.2f} s, bare task {bare:.2f} s, ratio {queued / bare:.2f}")
        finally:
            eas.close()
            srv.stop()


if __name__ == "__main__":
    main()
