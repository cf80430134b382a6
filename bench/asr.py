"""Model Hub Chinese ASR: real-time factor of the ``asr_zh`` task against faster-whisper called directly, and the
character error rate of Whisper's raw Mandarin output against the same text converted to simplified characters.

- Speed: the task (base64 bytes -> PyAV decode -> Whisper base int8 + Silero VAD -> zhconv -> the seed's text) and
  ``faster_whisper.WhisperModel.transcribe`` on the same file with the same settings (language zh, beam 5, VAD on,
  int8), both on 2 threads, called alternately, ROUNDS times each after a warm-up; RTF = wall time / audio length.
  Target: task / direct <= 1.1.
- Quality: CER (character edit distance / reference length, punctuation and spaces ignored) on the two Mandarin
  clips of tests/media/audio. No transcript ships with those clips (WeNet's sample wavs): REFERENCES are the news
  headlines the clips read, written for this bench; treat the figures as indicative (2 sentences, 45 characters).

Run: `python bench/asr.py` (whisper-base installed).
"""

from __future__ import annotations

import base64
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import MEDIA
from tests.support import ensure_models

from medialens.analyses.hub_audio import to_simplified
from medialens.config import Settings
from medialens.media.audio import read_audio
from medialens.tasks import TaskContext, TaskInput, get_task

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
THREADS = 2
CLIPS = ("zh_speech_long.wav", "zh_speech_mid.wav")
REFERENCES = {
    "zh_speech_mid.wav": "大学生利用漏洞免费吃肯德基获刑",
    "zh_speech_long.wav": "富士康在印度工厂出现大规模感染目前工厂产量已下降超50%",
}
_NOT_COUNTED = re.compile(r"[\s，。！？；、：,.!?;:*]")


def _edits(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


def cer(hypothesis: str, reference: str) -> float:
    hyp, ref = _NOT_COUNTED.sub("", hypothesis), _NOT_COUNTED.sub("", reference)
    return _edits(hyp, ref) / len(ref)


def main() -> None:
    model_dir = ensure_models("whisper-base")
    from faster_whisper import WhisperModel

    settings = Settings(model_dir=model_dir, model_threads=THREADS)
    direct = WhisperModel(
        str(model_dir / "whisper-base"), device="cpu", compute_type="int8", cpu_threads=THREADS, local_files_only=True
    )
    task = get_task("asr_zh")
    ecommerce = get_task("asr_zh_ecommerce")
    print(f"ASR, Whisper base int8, {THREADS} threads, {ROUNDS} rounds (machine shared: compare the ratios)")
    print(f"{'clip':22} {'audio s':>7} {'task RTF':>9} {'direct RTF':>10} {'ratio':>6} {'CER raw':>8} {'CER simp':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        ctx = TaskContext(settings, Path(tmp))
        for clip in CLIPS:
            path = MEDIA / "audio" / clip
            data = base64.b64encode(path.read_bytes()).decode()
            seconds = read_audio(path).size / 16000

            def ours(data: str = data) -> object:
                return task.run(ctx, TaskInput(data_base64=data))

            def bare(path: Path = path) -> str:
                segments, _ = direct.transcribe(str(path), language="zh", beam_size=5, vad_filter=True)
                return "".join(s.text for s in segments)

            ours(), bare()  # warm-up
            t_ours, t_bare = [], []
            for _ in range(ROUNDS):
                start = time.perf_counter()
                ours()
                t_ours.append(time.perf_counter() - start)
                start = time.perf_counter()
                raw = bare()
                t_bare.append(time.perf_counter() - start)
            a, b = statistics.median(t_ours) / seconds, statistics.median(t_bare) / seconds
            ref = REFERENCES[clip]
            raw_cer, simple_cer = cer(raw, ref), cer(to_simplified(raw), ref)
            print(f"{clip:22} {seconds:7.1f} {a:9.3f} {b:10.3f} {a / b:6.2f} {raw_cer:8.2f} {simple_cer:8.2f}")
            prompted = "".join(s.text for s in ecommerce.run(ctx, TaskInput(data_base64=data)).segments)
            print(f"  raw: {raw}  simplified: {to_simplified(raw)}")
            print(f"  asr_zh_ecommerce (prompted): {prompted}  CER {cer(prompted, ref):.2f}")


if __name__ == "__main__":
    main()
