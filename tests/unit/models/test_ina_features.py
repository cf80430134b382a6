"""inaSpeechSegmenter's front end in NumPy (models/pipelines/ina_features.py): mel bands, frames and patches."""

from __future__ import annotations

import numpy as np

from medialens.models.pipelines import ina_features as F


def test_the_filterbank_is_24_ordered_triangles_between_100_and_8000_hz() -> None:
    bank = F.mel_filterbank()
    assert bank.shape == (24, 257) and (bank >= 0).all()
    peaks = bank.argmax(axis=1)
    assert (np.diff(peaks) > 0).all()
    hz = np.arange(257) * F.SAMPLE_RATE / F.NFFT
    used = hz[bank.sum(axis=0) > 0]
    assert used.min() >= 100 and used.max() <= 8000
    assert 150 < hz[peaks[0]] < 220 and hz[peaks[-1]] > 6500  # first centre 173 Hz (HTK mel)


def test_a_tone_lights_the_band_around_its_frequency_every_10_ms() -> None:
    t = np.arange(F.SAMPLE_RATE) / F.SAMPLE_RATE  # 1 s
    mspec = F.log_mel((0.3 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32))
    assert mspec.shape == ((F.SAMPLE_RATE - F.WIN) // F.HOP + 1, 24)
    peak_hz = F.mel_filterbank().argmax(axis=1) * F.SAMPLE_RATE / F.NFFT
    assert abs(peak_hz[np.bincount(mspec.argmax(axis=1)).argmax()] - 1000) < 120


def test_patch_k_is_centred_on_frame_2k_and_the_ends_repeat() -> None:
    rng = np.random.default_rng(0)
    mspec = rng.normal(size=(201, 24))
    mspec[120] += 50.0  # a marker frame
    patches, finite = F.patches(mspec)
    assert patches.shape == (101, 68, 24) and finite.all()  # ceil(201 / 2)
    assert np.abs(patches.reshape(101, -1).mean(axis=1)).max() < 1e-5
    assert np.allclose(patches.reshape(101, -1).std(axis=1), 1.0, atol=1e-4)
    assert patches[60].mean(axis=1).argmax() == 34  # frame 120 sits mid-patch in patch 60
    assert all(np.array_equal(patches[0], patches[k]) for k in range(1, 18))  # windows before the start: the first
    assert np.array_equal(patches[-1], patches[-2])
    again, _ = F.patches(mspec, rows=np.array([60, 3]))
    assert np.array_equal(again[0], patches[60]) and np.array_equal(again[1], patches[3])


def test_fewer_bands_are_standardised_on_their_own() -> None:
    mspec = np.random.default_rng(1).normal(size=(80, 24))
    mspec[:, 21:] += 100.0  # bands the 21-band model never sees
    patches, _ = F.patches(mspec, n_mels=21)
    assert patches.shape == (40, 68, 21) and np.abs(patches).max() < 10


def test_short_audio_is_padded_to_one_patch_and_silence_is_flagged() -> None:
    mspec = F.log_mel(np.random.default_rng(2).normal(0, 0.1, 8000).astype(np.float32))  # 0.5 s: 48 frames
    patches, finite = F.patches(mspec)
    assert len(mspec) == 48 and patches.shape == (24, 68, 24) and finite.all()
    silent = F.log_mel(np.zeros(F.SAMPLE_RATE, np.float32))
    assert np.isneginf(silent).all()
    assert not F.patches(silent)[1].any()


def test_only_every_other_patch_inside_the_segments_is_scored() -> None:
    from medialens.models.pipelines.ina_gender import segment_rows

    rows = segment_rows([(1.0, 1.1), (0.0, 0.2)], n_patches=100)
    assert rows.tolist() == [0, 2, 4, 6, 8, 50, 52, 54]
    assert segment_rows([(5.0, 9.0)], n_patches=100).tolist() == []  # past the end of the audio
    assert segment_rows([(1.0, 1.0)], n_patches=100).tolist() == [50]  # an empty segment still gets a patch
    assert segment_rows([], n_patches=100).size == 0
