"""Audio decoding to 16 kHz mono float32 on the shared real recordings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from medialens.media.audio import read_audio
from medialens.media.errors import DecodeError


def test_real_audio(audio_record: dict, media_dir: Path) -> None:
    audio = read_audio(media_dir / audio_record["file"])
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert len(audio) == pytest.approx(audio_record["meta"]["duration_s"] * 16000, rel=0.01)
    assert audio.min() >= -1.0 and audio.max() <= 1.0
    assert np.abs(audio).max() > 0.05  # not silence


def test_jfk_length_and_no_downmix_clipping(media_dir: Path) -> None:
    audio = read_audio(media_dir / "audio/jfk_ask_not.flac")
    assert abs(len(audio) - 176_000) <= 16
    # each channel peaks near 0.78: a summing down-mix would push it into clipping at 1.0
    assert 0.6 < np.abs(audio).max() < 0.95


def test_audio_from_video_container(media_dir: Path) -> None:
    audio = read_audio(media_dir / "video/eye_makeup.avi")
    assert len(audio) == pytest.approx(6.557 * 16000, rel=0.01)


def test_max_seconds_and_sample_rate(media_dir: Path) -> None:
    path = media_dir / "audio/music_kevin_macleod_vibe_ace.ogg"
    assert len(read_audio(path, max_seconds=2.5)) == 40_000
    assert len(read_audio(path, sample_rate=8000, max_seconds=1.0)) == 8000


def test_video_without_audio(media_dir: Path) -> None:
    with pytest.raises(DecodeError, match="no audio stream"):
        read_audio(media_dir / "video/asl_bird.mkv")


@pytest.mark.parametrize("content", [b"", b"RIFF....WAVEfmt ", np.random.default_rng(2).bytes(20_000)])
def test_junk_audio(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "clip.wav"
    path.write_bytes(content)
    with pytest.raises(DecodeError, match=r"^audio could not be decoded"):
        read_audio(path)
