"""Model Hub services: latency through the official client vs the bare model call, and the server's memory.

For each offline service, median of ROUNDS alternated calls each after a warm-up (target: client / bare ≤ 1.2×):
- client: ``eas-prediction``'s PredictClient, signed (the JSON body text is made once, before timing; the client
  encodes it, MD5s it, signs it, POSTs it over a kept-alive connection and reads the whole answer) → live server
  (body read, service lookup, signature check over the body's MD5, JSON parse, base64 decode, the task, the
  answer's JSON) → the answer as the client returns it;
- bare: the same task in this process from the image file's bytes (image decode → model pre-processing → forward
  → post-processing → typed result): what a caller holding the image runs without the service; no base64, no JSON.
Every offline service is deployed (also the audio and video ones, which are then called once each so that their
models load) before the server's RSS (now and peak) is read.

Run: `python bench/modelhub.py` (models of the offline bundle installed; eas-prediction==0.36 installed).
"""

from __future__ import annotations

import os

# eas-prediction 0.36's protobuf modules load only on protobuf's pure-Python implementation (chosen at first import).
os.environ["PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION"] = "python"

import base64
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eas_prediction import PredictClient, StringRequest
from tests.conftest import MEDIA
from tests.support import ensure_models, live_server, media_server

from medialens.config import Settings
from medialens.core import HUB_MODELS
from medialens.core.services import not_deployed_hint
from medialens.models.runtime import limit_blas_threads, tune_allocator
from medialens.tasks import TaskContext, TaskInput, get_task

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "10"))
# Threads per model call, for the server and the bare calls alike (0: as many as the runtime likes). Idle ONNX
# Runtime and OpenMP pools spin for a while after each call: on a 2-core machine one process's spinning threads
# then slow the other's, so the comparison is cleanest with one thread each.
THREADS = os.environ.get("BENCH_MODEL_THREADS", "1")
MODELS = ("mobilenet-v2", "nanodet", "ppocr-v5", "mediapipe-selfie-segmentation", "e5-small-q4", "dlib-face")
MODELS += ("age-gender", "fer-emotion", "whisper-base")


def _image(name: str) -> bytes:
    return (MEDIA / "image" / name).read_bytes()


def _bottles() -> bytes:
    import av

    with av.open(str(MEDIA / "video" / "intel_bottles.mp4")) as container:
        frame = next(container.decode(video=0)).to_image()
    buf = io.BytesIO()
    frame.save(buf, "JPEG", quality=92)
    return buf.getvalue()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def requests() -> dict[str, tuple[dict, TaskInput]]:
    """Per service: the client's request body, and the same input for the bare task as a caller of the model holds
    it (the image file's bytes: no base64, which only the wire needs)."""
    cat, moto, face_a, face_b = (
        _image(n)
        for n in (
            "skimage_cat_chelsea.png",
            "skimage_motorcycle.png",
            "face_kit_harington_a.jpeg",
            "face_kit_harington_b.jpeg",
        )
    )
    two = _image("face_rose_leslie_kit_harington.jpg")
    page, bottles = _image("ocr_zh_en_screenshot_lines.jpg"), _bottles()
    text = "蚂蚁花呗在双十一可以提额吗？"
    pair = {"imagea": _b64(cat), "imageb": _b64(moto)}
    match = {"function_name": "match", "function_params": {**pair, "metric": "L2"}}
    return {
        "image_classification": ({"image": _b64(cat)}, TaskInput(data=cat)),
        "object_detection": ({"image": _b64(moto)}, TaskInput(data=moto)),
        "ocr": ({"image": _b64(page)}, TaskInput(data=page)),
        "foreground_segmentation": ({"image": _b64(face_a)}, TaskInput(data=face_a)),
        "scene_classification": ({"image": _b64(moto)}, TaskInput(data=moto)),
        "inventory_counting": ({"image": _b64(bottles)}, TaskInput(data=bottles)),
        "image_similarity": (pair, TaskInput(data=cat, more=(moto,))),
        "face_similarity": (
            {"imagea": _b64(face_a), "imageb": _b64(face_b)},
            TaskInput(data=face_a, more=(face_b,)),
        ),
        "face_attributes": ({"image": _b64(two)}, TaskInput(data=two)),
        "product_comparison": (match, TaskInput(data=cat, more=(moto,), options={"metric": "L2"})),
        "text_vectorization": (
            {"id": "1", "first_sequence": text, "sequence_length": 128},
            TaskInput(text=text, options={"sequence_length": 128}),
        ),
    }


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _medians_ms(a, b, rounds: int, server_pid: int) -> tuple[float, float, float, float]:
    """Median wall times of ``a`` and ``b``, called alternately (a busy machine then slows both alike), and the
    mean CPU time per call of the server (for ``a``) and of this process (for ``b``): CPU time is what the request
    path adds, whatever else the machine is running."""
    for _ in range(2):  # warm-up: model load, connection
        a()
        b()
    ta, tb, ca, cb = [], [], 0.0, 0.0
    for _ in range(rounds):
        before = _cpu_s(server_pid)
        ta.append(_timed(a))
        ca += _cpu_s(server_pid) - before
        before = time.process_time()
        tb.append(_timed(b))
        cb += time.process_time() - before
    ms = 1000 / rounds
    return statistics.median(ta) * 1000, statistics.median(tb) * 1000, ca * ms, cb * ms


def _rss_mb(pid: int) -> tuple[float, float]:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


# The offline audio and video services (part 2), called once each for the memory figure: a 6.6-s 320x240 clip
# with sound, a 5-s Mandarin recording.
OTHERS = {
    "video_highlight": "video/eye_makeup.avi",
    "video_super_resolution": "video/eye_makeup.avi",
    "asr_zh": "audio/zh_speech_mid.wav",
    "asr_zh_ecommerce": "audio/zh_speech_mid.wav",
    "speech_detection_zh": "audio/zh_speech_mid.wav",
    "bgm_detection": "audio/zh_speech_mid.wav",
    "speech_vector_zh": "audio/zh_speech_mid.wav",
    "speech_vector_en": "audio/zh_speech_mid.wav",
    "speaker_classification_zh": "audio/zh_speech_mid.wav",
}


def _deploy(data_dir: Path, settings: Settings, models: list[str]) -> dict[str, str]:
    """Services for ``models`` in the server's database (what `medialens services deploy` writes); their tokens."""
    from medialens.core.services import deploy
    from medialens.store.db import Database

    db = Database(Settings(data_dir=data_dir).resolved_database_url)
    db.migrate()
    try:
        return {m: deploy(db, settings, m).token for m in models}
    finally:
        db.dispose()


def _load_the_others(endpoint: str, tokens: dict[str, str], models: list[str]) -> list[str]:
    """Call each other offline service once (its models load), on shared media; returns those called."""
    called = []
    with media_server(MEDIA) as url:
        for model in models:
            if model not in OTHERS:
                print(f"  ({model}: no media chosen for it here, not called)")
                continue
            client = PredictClient(endpoint, model)
            client.set_token(tokens[model])
            client.set_timeout(600_000)
            client.init()
            start = time.perf_counter()
            answer = client.predict(StringRequest(json.dumps({"input": {"url": f"{url}/{OTHERS[model]}"}})))
            assert answer.response_data[:1] == b"{", answer.response_data[:200]
            print(f"  {model:<24} called once: {time.perf_counter() - start:6.1f} s")
            called.append(model)
    return called


def main() -> None:
    model_dir = ensure_models(*MODELS)
    settings = Settings(model_dir=model_dir, model_threads=int(THREADS))
    limit_blas_threads(settings)  # as the server does: idle BLAS threads spinning here would slow the server
    # As the server does, so that the bare calls page-fault no more than the server's. BENCH_BARE_MALLOC=default
    # leaves this process on glibc's adaptive thresholds (the server's stay tuned).
    if os.environ.get("BENCH_BARE_MALLOC") != "default":
        tune_allocator(settings)
    cases = requests()
    if only := os.environ.get("BENCH_SERVICES"):
        cases = {k: v for k, v in cases.items() if k in only.split(",")}
    with tempfile.TemporaryDirectory() as tmp:
        # the server's own default job polling (the test helper's 0.05 s keeps idle workers busier than a server's)
        server = live_server(
            Path(tmp) / "server", model_threads=THREADS, job_poll_interval_s="0.2", allow_private_urls="true"
        )
        offline = [m for m, hub in HUB_MODELS.items() if not_deployed_hint(hub, settings) is None]
        tokens = _deploy(Path(tmp) / "server", settings, offline)  # every offline service, as a server would hold
        server.start()
        try:
            endpoint = server.base_url.removeprefix("http://")
            print(
                f"Model Hub services, median of {ROUNDS} alternated calls (eas-prediction PredictClient, signed) vs "
                f"bare, {THREADS} model thread(s) (0: the runtimes' default):"
            )
            print(
                f"  {'service':<24} {'client ms':>10} {'bare ms':>10} {'ratio':>7} {'server cpu':>11} {'bare cpu':>9} "
                f"{'ratio':>6}   model"
            )
            ratios, cpu_ratios = [], []
            for model, (body, given) in cases.items():
                client = PredictClient(endpoint, model)
                client.set_token(tokens[model])
                client.set_timeout(120_000)  # ms; the first call loads the models (past the 5 s default when busy)
                client.init()
                raw = json.dumps(body)

                def through_client(c=client, r=raw) -> None:
                    assert c.predict(StringRequest(r)).response_data[:1] == b"{"  # the answer, as the client gets it

                spec = get_task(HUB_MODELS[model].task)
                ctx = TaskContext(settings=settings, workdir=Path(tmp))

                def bare(s=spec, g=given, c=ctx) -> None:
                    s.run(c, g)

                c_ms, b_ms, c_cpu, b_cpu = _medians_ms(through_client, bare, ROUNDS, server.proc.pid)
                ratios.append(c_ms / b_ms)
                cpu_ratios.append(c_cpu / b_cpu)
                print(
                    f"  {model:<24} {c_ms:10.1f} {b_ms:10.1f} {c_ms / b_ms:6.2f}x {c_cpu:11.1f} {b_cpu:9.1f} "
                    f"{c_cpu / b_cpu:5.2f}x   {HUB_MODELS[model].description[:40]}"
                )
            print(
                f"  wall: median ratio {statistics.median(ratios):.2f}x, worst {max(ratios):.2f}x; server CPU per "
                f"request: median {statistics.median(cpu_ratios):.2f}x, worst {max(cpu_ratios):.2f}x (target <= 1.2x)"
            )
            loaded = list(cases)
            if not os.environ.get("BENCH_SERVICES"):
                loaded += _load_the_others(endpoint, tokens, [m for m in offline if m not in cases])
            rss, peak = _rss_mb(server.proc.pid)
            print(
                f"server with {len(offline)} offline services deployed, {len(loaded)} of them called once or more "
                f"(models loaded): RSS {rss:.0f} MB, peak {peak:.0f} MB"
            )
        finally:
            server.stop()


if __name__ == "__main__":
    main()
