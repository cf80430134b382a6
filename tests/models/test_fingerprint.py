"""Video fingerprints on copies the test makes from tests/media (issue 13's transforms): every copy of three videos
is found, with its segment, and the hard negatives (two takes of the same signer before the same background) and
unrelated videos are not. The full evaluation over all 13 videos is bench/fingerprint.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from medialens.analyses import fingerprint as fp
from medialens.config import Settings
from medialens.media.video import probe_video
from medialens.tasks.vod import dna_frames
from tests import vod_variants as vv
from tests.conftest import MEDIA
from tests.support import ensure_models

VIDEOS = ("asl_bird.mkv", "asl_sorry.mkv", "basketball_gym.mp4")


def _print(path: Path, settings: Settings, reference: bool) -> fp.Fingerprint:
    """The frames a DNA job fingerprints (a query keeps only the full view)."""
    return fp.fingerprint(
        dna_frames(path, probe_video(path, settings=settings), settings), settings, reference=reference
    )


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory):
    settings = Settings(model_dir=ensure_models("mobilenet-v2"))
    out = tmp_path_factory.mktemp("fingerprints")
    index, copies = fp.FingerprintIndex(), {}
    for name in VIDEOS:
        original, frames, rate = vv.make_original(MEDIA / "video" / name, out / f"{name}.mp4")
        index.add(name, _print(original, settings, reference=True))
        for transform in vv.TRANSFORMS:
            path = vv.make_copy(frames, rate, transform, out / f"{name}.{transform.replace('+', '_')}.mp4")
            if path is not None:
                copies[(name, transform)] = _print(path, settings, reference=False)
    return index, copies


def test_every_copy_is_found_and_nothing_else(library) -> None:
    index, copies = library
    missed, wrong = [], []
    for (name, transform), query in copies.items():
        found = index.query(query)
        if not found or found[0][0] != name:
            missed.append((name, transform))
        wrong += [(name, transform, key) for key, _ in found if key != name]
    assert len(copies) == len(VIDEOS) * len(vv.TRANSFORMS) - 2  # no 6 s excerpt of the two short clips
    # every single transform is found; the hardest combination (a 10 % crop, a banner and a heavy re-encode at
    # once) is the known weak spot: found on about half the videos (bench/fingerprint.py has the figures)
    assert [m for m in missed if m[1] != "crop+banner+reencode"] == [], missed
    assert len(missed) <= 2, missed  # of 3
    assert wrong == []


def test_excerpt_segment(library) -> None:
    index, copies = library
    ((key, match),) = index.query(copies[("basketball_gym.mp4", "excerpt")])
    (seg,) = match.segments
    assert key == "basketball_gym.mp4"
    assert seg.input_start == pytest.approx(0.0, abs=0.6) and seg.input_duration >= 5.0
    assert seg.dup_start == pytest.approx(2.0, abs=0.6)  # the middle 6 s of 10 s


def test_serialised_fingerprint_round_trips(library) -> None:
    index, _ = library
    fpr = index[index.ids[0]]
    back = fp.Fingerprint.from_bytes(fpr.to_bytes(), fpr.fps)
    assert back.vectors.shape == fpr.vectors.shape and (back.vectors == fpr.vectors).all()


def test_reference_mirrors_every_other_frame(library) -> None:
    """A reference's mirrored view is computed on even frames; odd frames repeat the frame before's."""
    index, _ = library
    v = index["basketball_gym.mp4"].vectors
    assert v.shape[1] == len(fp.VIEWS) and v.shape[0] >= 4
    assert (v[1::2, 1] == v[0 : len(v) - 1 : 2, 1]).all()
    assert not (v[2::2, 1] == v[0 : len(v) - 2 : 2, 1]).all()
    assert not (v[1::2, 2] == v[0 : len(v) - 1 : 2, 2]).all()  # the crop view is every frame's own


def test_batches_in_parallel_keep_frame_order(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small batches, two in flight at once, give the same fingerprint as one batch at a time (the mirrored view
    carried over from the batch before)."""
    path = MEDIA / "video" / "basketball_gym.mp4"
    root = ensure_models("mobilenet-v2")
    settings = Settings(model_dir=root)
    frames = list(dna_frames(path, probe_video(path, settings=settings), settings))[:9]
    monkeypatch.setattr(fp, "FRAMES_PER_BATCH", 3)
    one = fp.fingerprint(frames, Settings(model_dir=root, model_threads=1))
    two = fp.fingerprint(frames, Settings(model_dir=root, model_threads=2))
    assert one.vectors.shape == (9, len(fp.VIEWS), fp.DIM)
    assert (one.vectors == two.vectors).all()
    assert (one.vectors[3, 1] == one.vectors[2, 1]).all() and not (one.vectors[3, 1] == one.vectors[3, 0]).all()
