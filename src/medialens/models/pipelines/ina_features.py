"""inaSpeechSegmenter's input features, in NumPy: 24 log mel bands every 10 ms, cut into 68-frame patches.

The front end its CNNs were trained on (SIDEKIT's ``mfcc(get_mspec=True)`` at its defaults, as inaSpeechSegmenter
0.6.8 calls it): 16 kHz mono, 25 ms frames every 10 ms (no padding), pre-emphasis 0.97 inside each frame (its
first sample against itself), Hann window, 512-point power spectrum, 24 triangular filters evenly spaced on the
HTK mel scale between 100 and 8000 Hz (each of area-normalised height ``2 / (hi - lo)``), natural log.

Patches: 68 frames (0.68 s) every 2 frames, each standardised by its own mean and standard deviation, the first
and last patch repeated so that patch ``k`` is centred on frame ``2k``: one patch per 20 ms of audio.
"""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 16000
WIN = 400
HOP = 160
NFFT = 512
N_MELS = 24
LOW_HZ, HIGH_HZ = 100.0, 8000.0
PRE_EMPHASIS = 0.97
PATCH = 68
STEP = 2
PATCH_S = STEP * HOP / SAMPLE_RATE
"""Audio time per patch (20 ms)."""


def _hz2mel(f: np.ndarray) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + f / 700.0)


def _mel2hz(m: np.ndarray) -> np.ndarray:
    return 700.0 * (10.0 ** (m / 2595.0) - 1.0)


def mel_filterbank() -> np.ndarray:
    """[N_MELS, NFFT // 2 + 1] triangles; bins assigned with SIDEKIT's floor rules (the last right bin unused)."""
    mels = _hz2mel(np.float64(LOW_HZ)) + np.arange(N_MELS + 2) * (
        (_hz2mel(np.float64(HIGH_HZ)) - _hz2mel(np.float64(LOW_HZ))) / (N_MELS + 1)
    )
    edges = _mel2hz(mels)
    heights = 2.0 / (edges[2:] - edges[:-2])
    bin_hz = np.arange(NFFT) / NFFT * SAMPLE_RATE
    bank = np.zeros((N_MELS, NFFT // 2 + 1), np.float32)
    for i in range(N_MELS):
        lo, cen, hi = edges[i], edges[i + 1], edges[i + 2]
        left = np.arange(np.floor(lo * NFFT / SAMPLE_RATE) + 1, np.floor(cen * NFFT / SAMPLE_RATE) + 1, dtype=int)
        right = np.arange(
            np.floor(cen * NFFT / SAMPLE_RATE) + 1, min(np.floor(hi * NFFT / SAMPLE_RATE) + 1, NFFT), dtype=int
        )[:-1]
        bank[i, left] = heights[i] / (cen - lo) * (bin_hz[left] - lo)
        bank[i, right] = heights[i] / (hi - cen) * (hi - bin_hz[right])
    return bank


def log_mel(samples: np.ndarray) -> np.ndarray:
    """[frames, 24] log mel energies of float32 mono samples at 16 kHz (-inf where a frame is digital silence)."""
    x = np.asarray(samples, np.float32)
    if x.size < WIN:
        x = np.pad(x, (0, WIN - x.size))
    frames = np.lib.stride_tricks.sliding_window_view(x, WIN)[::HOP].astype(np.float32)
    emphasised = frames.copy()
    emphasised[:, 1:] -= PRE_EMPHASIS * frames[:, :-1]
    emphasised[:, 0] -= PRE_EMPHASIS * frames[:, 0]
    spectrum = np.fft.rfft(emphasised * np.hanning(WIN), NFFT, axis=1)
    power = (spectrum.real**2 + spectrum.imag**2).astype(np.float32)
    with np.errstate(divide="ignore"):
        return np.log(power @ mel_filterbank().T)


def frame_db(samples: np.ndarray) -> np.ndarray:
    """[frames] level of each 25-ms frame (the frames of ``log_mel``) in dB full scale (RMS; -200 for zeros)."""
    x = np.asarray(samples, np.float32)
    if x.size < WIN:
        x = np.pad(x, (0, WIN - x.size))
    frames = np.lib.stride_tricks.sliding_window_view(x, WIN)[::HOP]
    return 10.0 * np.log10(np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-20)


def patch_count(frames: int) -> int:
    return -(-frames // STEP)


def patches(mspec: np.ndarray, n_mels: int = N_MELS, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """([P, 68, n_mels] standardised patches, [P] finite flags) for patch indices ``rows`` (default: all
    ``patch_count(frames)``). Patch k is the window starting at frame 2k - 34, clamped to the first and last
    window (inaSpeechSegmenter repeats those); input shorter than 68 frames is padded with its lowest value."""
    spec = np.asarray(mspec[:, :n_mels], np.float64)
    frames = len(spec)
    if frames < PATCH:  # as inaSpeechSegmenter: pad with the lowest value seen, then keep the real patches
        floor = spec[np.isfinite(spec)].min() if np.isfinite(spec).any() else 0.0
        spec = np.concatenate([spec, np.full((PATCH - frames, n_mels), floor)])
    k = np.arange(patch_count(frames)) if rows is None else np.asarray(rows, dtype=np.int64)
    last = STEP * ((len(spec) - PATCH) // STEP)
    starts = np.clip(STEP * k - PATCH // 2, 0, last)
    windows = np.lib.stride_tricks.sliding_window_view(spec, PATCH, axis=0)[starts]  # [P, n_mels, 68]
    flat = windows.transpose(0, 2, 1).reshape(len(k), -1)
    with np.errstate(invalid="ignore", divide="ignore"):
        flat = (flat - flat.mean(axis=1, keepdims=True)) / flat.std(axis=1, keepdims=True)
    finite = np.all(np.isfinite(flat), axis=1)
    return flat.reshape(len(k), PATCH, n_mels).astype(np.float32), finite
