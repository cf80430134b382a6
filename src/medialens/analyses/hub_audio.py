"""Model Hub audio services' analysis: Chinese transcripts in the seed's form, and per-window speech and music calls.

- Transcripts: Whisper writes Mandarin in traditional characters much of the time; ``to_simplified`` converts them
  with zhconv's MediaWiki zh-cn table. The seed's models know "about 4,000" (general) and "about 6,000"
  (e-commerce) characters and write ``*`` for others: here the GB2312 level-1 set (3,755 most common characters)
  and the whole GB2312 set (6,763), read from Python's own codec, play those vocabularies.
- Background music and speaker sex: inaSpeechSegmenter's CNNs (``models/pipelines/ina_gender``); here only the
  rules that turn their scores into the services' calls and labels.
"""

from __future__ import annotations

import contextlib
import itertools
import re
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


# --- background music: inaSpeechSegmenter's speech/music CNN per window ---------------------------------------------
MUSIC_METHOD = (
    "inaSpeechSegmenter 0.6.8's speech/music CNN (ONNX): mean music probability over the window's sounding 20-ms "
    "log-mel patches (every other one; below -60 dBFS not scored)"
)
MIN_MUSIC_PROBABILITY = 0.5


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
