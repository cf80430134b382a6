"""Classify by prompts on hand-made evidence: per-option scoring, clips, duration ratio, detailed scores."""

from __future__ import annotations

import numpy as np
import pytest

from medialens.analyses import classify_by_prompts as cbp
from medialens.analyses.video_index import FrameObs, descriptors_of, segment_bounds
from medialens.media.types import Frame


def _unit(*xs: float) -> list[float]:
    v = np.zeros(cbp.EMBED_DIM)
    v[: len(xs)] = xs
    return list(v / np.linalg.norm(v))


RESULT = {
    "duration": 10.0,
    "segments": [
        {"start": 0.0, "end": 4.0, "embedding": _unit(1, 0), "plain_embedding": _unit(0, 1)},
        {"start": 4.0, "end": 10.0, "embedding": _unit(0, 1)},
    ],
    "transcript": [
        {"start": 1.0, "end": 3.0, "text": "Ask not, what your COUNTRY can do", "embedding": _unit(0, 0, 1)}
    ],
    "text_in_video": [],
}


def test_compile_and_ablate_descriptors() -> None:
    ev = cbp.compile_evidence(RESULT)
    assert ev.embeddings["visual"].shape == (2, cbp.EMBED_DIM) and ev.embeddings["text_in_video"].shape == (0, 384)
    assert ev.texts["conversation"] == ["ask not what your country can do"]
    plain = cbp.compile_evidence(RESULT, descriptors=False)
    assert plain.embeddings["visual"][0] @ np.array(_unit(0, 1)) == pytest.approx(1.0, abs=1e-6)


def test_visual_clips_ratio_and_scores() -> None:
    ev = cbp.compile_evidence(RESULT)
    emb = {"a": np.array(_unit(1, 0), np.float32), "b": np.array(_unit(0, 1), np.float32)}
    (a, b) = cbp.classify_video(
        ev, [cbp.ClassSpec("A", ("a",), ("visual",)), cbp.ClassSpec("B", ("b",), ("visual",))], emb
    )
    assert a.max_score == pytest.approx(100.0, abs=0.1) and [(c.start, c.end) for c in a.clips] == [(0.0, 4.0)]
    assert a.duration_ratio == pytest.approx(0.4) and b.duration_ratio == pytest.approx(0.6)
    off = 100 / (1 + np.exp(cbp.VISUAL_CENTER / cbp.VISUAL_SCALE))  # the score of an orthogonal segment
    assert a.avg_score == pytest.approx(0.4 * 100 + 0.6 * off, abs=0.05)
    assert b.score > a.score  # B covers more of the video
    results = [a, b]
    cbp.normalize(results)
    assert sum(r.normalized_score for r in results) == pytest.approx(100.0)


def test_clip_is_fused_and_an_uninformed_clip_changes_nothing() -> None:
    """CLIP adds its per-segment log-odds between the prompts to the e5 evidence: a model that scores every prompt
    alike leaves the scores as they were; one that prefers a prompt on a segment raises that prompt there."""
    emb = {"a": np.array(_unit(1, 0), np.float32), "b": np.array(_unit(0, 1), np.float32)}
    classes = [cbp.ClassSpec("A", ("a",), ("visual",)), cbp.ClassSpec("B", ("b",), ("visual",))]
    plain = cbp.classify_video(cbp.compile_evidence(RESULT), classes, emb)
    with_clip = dict(RESULT, segments=[dict(s, clip_embedding=[1.0, 0.0]) for s in RESULT["segments"]])
    ev = cbp.compile_evidence(with_clip)
    alike = {"a": np.array([0.6, 0.8], np.float32), "b": np.array([0.6, -0.8], np.float32)}  # same cosine (0.6)
    same = cbp.classify_video(ev, classes, emb, clip_text=alike)
    assert [(r.max_score, r.avg_score) for r in same] == [(r.max_score, r.avg_score) for r in plain]
    prefers_b = {"a": np.array([0.0, 1.0], np.float32), "b": np.array([1.0, 0.0], np.float32)}
    a, b = cbp.classify_video(ev, classes, emb, clip_text=prefers_b)
    assert b.avg_score > plain[1].avg_score and a.avg_score < plain[0].avg_score


def test_conversation_exact_match_and_semantic() -> None:
    ev = cbp.compile_evidence(RESULT)
    emb = {"what your country": np.array(_unit(0, 0, 1), np.float32), "country can do": np.array(_unit(1), np.float32)}
    exact = cbp.ClassSpec("q", ("what your country",), ("conversation",), "exact_match")
    (r,) = cbp.classify_video(ev, [exact], emb)
    assert r.max_score == 100.0 and r.clips[0].option == "conversation" and r.clips[0].prompt == "what your country"
    words = cbp.ClassSpec("w", ("country can do",), ("conversation",), "exact_match")
    assert cbp.classify_video(ev, [words], emb)[0].max_score == 100.0
    missing = cbp.ClassSpec("m", ("country can do",), ("text_in_video",))
    assert cbp.classify_video(ev, [missing], emb)[0].score == 0.0
    semantic = cbp.ClassSpec("s", ("what your country",), ("conversation",), "semantic")
    assert cbp.classify_video(ev, [semantic], {"what your country": np.array(_unit(0, 0, 1), np.float32)})[
        0
    ].max_score == pytest.approx(100, abs=0.1)


def test_segments_split_long_shots_and_cut_on_colour_change() -> None:
    red, blue = np.zeros((32, 32, 3), np.uint8), np.zeros((32, 32, 3), np.uint8)
    red[..., 0], blue[..., 2] = 200, 200
    frames = [Frame(t / 2, red if t < 6 else blue) for t in range(20)]  # a cut at 3 s, then 7 s of blue
    bounds = segment_bounds(frames, 10.0)
    assert [frames[a].t for a, _b, _s in bounds] == [0.0, 3.0, 6.5]
    assert [s for _a, _b, s in bounds] == [0, 1, 1]


def test_descriptors_from_pose_faces_and_people() -> None:
    pose = np.zeros((33, 2), np.float32)
    pose[11], pose[12], pose[23], pose[24], pose[0] = (120, 100), (80, 100), (115, 200), (85, 200), (100, 60)
    pose[15], pose[16] = (100, 150), (60, 220)
    moved = pose.copy()
    moved[15] = (100, 120)  # the hand moves 30 px (0.75 shoulder widths) in 0.25 s
    obs = [
        FrameObs(0.0, pose, face_area=0.1, persons=[(0, 0, 10, 10), (2, 0, 12, 10)]),
        FrameObs(0.25, moved, face_area=0.1, persons=[(0, 0, 10, 10), (2, 0, 12, 10)]),
    ]
    d = descriptors_of(obs)
    assert d["a close-up of a person's face"] == 1.0 and d["two people very close together, embracing"] == 1.0
    assert d["hands held in front of the chest"] == 1.0 and d["hands moving quickly in gestures"] == 0.5
    assert "a person walking or running" not in d
