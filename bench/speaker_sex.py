"""Model Hub speaker_classification_zh: what the speaker_classification_zh task says for every test clip with
sound, against labels.json's ``speaker_sex`` where it is recorded (``unknown`` elsewhere), and how long it takes.

Per clip: the silero VAD segments (pauses under 1 s joined), each segment's mean male probability and speech
probability from inaSpeechSegmenter's CNNs, the call (``-`` = dropped by the speech/music gate), and the time per
audio second. Accuracy counts segments of clips whose sex is known.

Run: `python bench/speaker_sex.py` (silero-vad and ina-speech-segmenter installed).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import LABELS, MEDIA
from tests.support import ensure_models

from medialens.analyses import hub_audio
from medialens.config import Settings
from medialens.media.audio import read_audio
from medialens.models.pipelines import pipeline_class
from medialens.models.pipelines.ina_gender import SexRequest
from medialens.models.pipelines.vad import VadOptions, speech_segments


def _sex_of(entry: dict) -> str:
    truth = entry["truth"]
    return truth.get("speaker_sex") or truth.get("audio", {}).get("speaker_sex") or "unknown"


def main() -> None:
    models = ensure_models("silero-vad", "ina-speech-segmenter")
    vad = pipeline_class("silero-vad")(models / "silero-vad", Settings())
    sex = pipeline_class("ina-speech-segmenter")(models / "ina-speech-segmenter", Settings())
    options = VadOptions(min_silence_ms=hub_audio.SPEAKER_MIN_SILENCE_MS, max_speech_s=hub_audio.SPEAKER_MAX_SEGMENT_S)
    files = [f for f, e in LABELS.items() if e["kind"] == "audio" or e["truth"].get("has_audio")]
    right = total = 0
    for name in sorted(files):
        audio = read_audio(MEDIA / name)
        t0 = time.perf_counter()
        spans = speech_segments(vad.probabilities(audio), audio.size, options)
        calls = sex(SexRequest(audio, [(s.start_s, s.end_s) for s in spans]))
        per_s = (time.perf_counter() - t0) / (audio.size / 16000)
        truth = _sex_of(LABELS[name])
        print(f"{name}  truth {truth}  ({audio.size / 16000:.1f} s, {per_s:.2f} s per audio s)")
        for c in calls:
            kept = c.sex is not None and c.speech_probability >= hub_audio.MIN_SPEECH_PROBABILITY
            said = c.sex if kept else "-"
            print(f"    {c.start:6.2f}-{c.end:6.2f} s  p(male) {c.male_probability:.3f}  p(speech) "
                  f"{c.speech_probability:.3f}  -> {said}")
            if kept and truth != "unknown":
                total += 1
                right += said == truth
        if not calls:
            print("    no speech segment")
    print(f"segments of clips with a known sex: {right}/{total} right")


if __name__ == "__main__":
    main()
