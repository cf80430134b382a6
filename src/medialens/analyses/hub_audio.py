"""Model Hub audio services' analysis: Chinese transcripts in the seed's form, and per-window speech and music calls.

- Transcripts: Whisper writes Mandarin in traditional characters much of the time; ``to_simplified`` converts them
  with zhconv's MediaWiki zh-cn table. The seed's models know "about 4,000" (general) and "about 6,000"
  (e-commerce) characters and write ``*`` for others: here the GB2312 level-1 set (3,755 most common characters)
  and the whole GB2312 set (6,763), read from Python's own codec, play those vocabularies.
- Background music: a signal method, no model (``MUSIC_METHOD``): over 64 ms frames, the share of sounding frames
  that are tonal (spectral flatness in 100-5000 Hz below ``TONAL_FLATNESS``), how much of the window sounds, and the
  median frame-to-frame level change. Music holds tonal notes almost all the time at a steady level; speech has
  unvoiced consonants and pauses (fewer tonal frames, larger level steps); a bird call is tonal but mostly silence
  with sharp onsets.
"""

from __future__ import annotations

import contextlib
import itertools
import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

SAMPLE_RATE = 16000
WINDOW_S = 20.0
"""Detection services answer per window of this length (the seed's keys are about 20 s apart)."""
MIN_TAIL_S = 3.0
"""A last window shorter than this joins the one before it."""

ECOMMERCE_PROMPT = (
    "直播间的宝宝们欢迎来到我们的旗舰店，今天给大家推荐这款产品，链接已经上架，点击下方小黄车下单，"
    "领取优惠券立减，包邮，七天无理由退换，库存不多，秒杀价，买一送一，正品保障。"
)
"""Whisper's ``initial_prompt`` for the e-commerce variant: live-stream selling words, in simplified characters."""

_SENTENCE_END = re.compile(r"[，。！？；、：,.!?;:\s]+")


def to_simplified(text: str) -> str:
    import zhconv

    return zhconv.convert(text, "zh-cn")


@lru_cache(maxsize=2)
def vocabulary(level2: bool) -> frozenset[str]:
    """GB2312's hanzi: level 1 (rows 16-55, 3,755 characters), with level 2 (rows 56-87, 3,008 more)."""
    last_row = 0xF7 if level2 else 0xD7
    chars = set()
    for hi in range(0xB0, last_row + 1):
        for lo in range(0xA1, 0xFF):
            with contextlib.suppress(UnicodeDecodeError):  # the unused cells at the end of row 55
                chars.add(bytes((hi, lo)).decode("gb2312"))
    return frozenset(chars)


def _hanzi(c: str) -> bool:
    return "\u3400" <= c <= "\u9fff" or "\uf900" <= c <= "\ufaff" or "\U00020000" <= c <= "\U0003ffff"


def seed_text(text: str, vocab: frozenset[str]) -> str:
    """Simplified characters, short sentences joined by ';', hanzi outside ``vocab`` as '*'."""
    simple = to_simplified(text)
    masked = "".join("*" if _hanzi(c) and c not in vocab else c for c in simple)
    return ";".join(part for part in _SENTENCE_END.split(masked) if part)


def windows(duration_s: float) -> list[tuple[float, float]]:
    """[start, end) windows of WINDOW_S covering the audio, a short tail joined to the window before it."""
    edges = [*(float(e) for e in np.arange(0.0, duration_s, WINDOW_S)), duration_s]
    if len(edges) > 2 and edges[-1] - edges[-2] < MIN_TAIL_S:
        del edges[-2]
    return [(a, b) for a, b in itertools.pairwise(edges) if b > a]


# --- background music: a signal method ------------------------------------------------------------------------------
MUSIC_METHOD = "signal: tonal-frame share, sounding share and level steady-ness over 64 ms frames (no model)"
FRAME = 1024
HOP = 512
QUIET_DB = 35.0
"""A frame sounds when its 100-5000 Hz level is within this of the window's loudest frame."""
SILENT_DBFS = -60.0
"""Frames quieter than this (windowed RMS, dB full scale) never sound, whatever the window's loudest."""
TONAL_FLATNESS = 0.05
MIN_TONAL_SHARE = 0.92
MIN_SOUNDING_SHARE = 0.4
MAX_LEVEL_STEP_DB = 2.5


@dataclass(frozen=True)
class MusicFeatures:
    tonal_share: float
    sounding_share: float
    level_step_db: float

    @property
    def music(self) -> bool:
        return (
            self.tonal_share >= MIN_TONAL_SHARE
            and self.sounding_share >= MIN_SOUNDING_SHARE
            and self.level_step_db <= MAX_LEVEL_STEP_DB
        )


def music_features(samples: np.ndarray) -> MusicFeatures:
    """``samples``: float32 mono at SAMPLE_RATE, at least one frame long (shorter: no music)."""
    if samples.size < FRAME:
        return MusicFeatures(0.0, 0.0, float("inf"))
    frames = np.lib.stride_tricks.sliding_window_view(samples, FRAME)[::HOP] * np.hanning(FRAME)
    freqs = np.fft.rfftfreq(FRAME, 1 / SAMPLE_RATE)
    band = (freqs >= 100) & (freqs <= 5000)
    power = np.abs(np.fft.rfft(frames, axis=1))[:, band] ** 2 + 1e-12
    level = 10 * np.log10(power.sum(axis=1))
    rms_db = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-20)
    sounding = (level > level.max() - QUIET_DB) & (rms_db > SILENT_DBFS)
    flatness = np.exp(np.log(power).mean(axis=1)) / power.mean(axis=1)
    tonal = (flatness < TONAL_FLATNESS) & sounding
    pairs = sounding[1:] & sounding[:-1]
    step = float(np.median(np.abs(np.diff(level))[pairs])) if pairs.any() else float("inf")
    return MusicFeatures(
        tonal_share=float(tonal.sum() / max(int(sounding.sum()), 1)),
        sounding_share=float(sounding.mean()),
        level_step_db=step,
    )


# --- speaker sex: inaSpeechSegmenter's CNNs over the VAD's speech ---------------------------------------------------
SEX_LABELS = {"male": "男", "female": "女"}
"""The seed's labels are not published ("Predicted label"); these are the plain Chinese words."""
SPEAKER_METHOD = (
    "silero VAD speech segments (pauses under 1 s kept, at most 20 s), each called by inaSpeechSegmenter 0.6.8's "
    "CNNs (ONNX): speech/music gate, then male/female from the mean over 20-ms log-mel patches"
)
SPEAKER_MIN_SILENCE_MS = 1000
SPEAKER_MAX_SEGMENT_S = 20.0
MIN_SPEECH_PROBABILITY = 0.5
"""Segments the speech/music CNN scores below this (music the VAD let through) get no call."""


def speaker_label(sex: str) -> str:
    return SEX_LABELS[sex]
