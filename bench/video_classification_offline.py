"""Why ``video_classification`` has no offline tier: zero-shot UCF101 by the ConSE evidence engine, measured.

Each test video whose label maps to a UCF101 class is sampled at 1 fps; its frames are pooled by
``analyses.evidence`` (MobileNetV2 ImageNet probabilities + NanoDet COCO objects, mapped into multilingual-e5-small
text space: ConSE) and compared by cosine with the e5 embeddings of the 101 class names written as words
("apply eye makeup"), raw and centred like the ConSE bases; "+pose" adds the pose, face and hand descriptors
``analyses.video_index`` computes (as its segment embeddings do). Prints each video's rank of the true class and top-1 /
top-5 over the set (chance: 1/101 and 5/101).

Run: `python bench/video_classification_offline.py` (mobilenet-v2, nanodet, e5-small-q4 installed).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import MEDIA
from tests.support import test_model_dir

from medialens.analyses import evidence, video_index
from medialens.config import Settings
from medialens.media.video import probe_video
from medialens.tasks.intake import sampled_frames

CLASSES = (Path(__file__).parent / "data" / "ucf101_classes.txt").read_text().split()
TRUTH = {"basketball_gym.mp4": "Basketball", "eye_makeup.avi": "ApplyEyeMakeup"}
"""The test videos (tests/media/labels.json) whose action is a UCF101 class."""


def words(name: str) -> str:
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name).lower()


def main() -> None:
    settings = Settings(model_dir=test_model_dir())
    raw = evidence.embed_texts([words(c) for c in CLASSES], settings)
    centred = raw - evidence.label_matrix("imagenet", settings).mean(axis=0)
    centred /= np.linalg.norm(centred, axis=1, keepdims=True)
    ranks: dict[str, list[int]] = {"raw": [], "centred": [], "+pose": []}
    for name, truth in TRUTH.items():
        path = MEDIA / "video" / name
        frames = list(sampled_frames(path, probe_video(path, settings=settings), settings, 1.0))
        ev = evidence.observe([f.rgb for f in frames], settings)
        plain = evidence.conse_vector(ev.probs, ev.objects, settings).ravel()
        obs = video_index._observe(frames, settings, pose=True, faces=True, hands=True)
        desc = video_index.descriptors_of(obs)
        posed = video_index.visual_embedding(ev.probs, ev.objects, desc, settings).ravel()
        print(f"{name:22} pose/face/hand descriptors {sorted(desc)}")
        for kind, matrix, v in (("raw", raw, plain), ("centred", centred, plain), ("+pose", centred, posed)):
            order = list(np.argsort(-(matrix @ v)))
            rank = order.index(CLASSES.index(truth)) + 1
            ranks[kind].append(rank)
            print(f"{name:22} {kind:8} true {truth:16} rank {rank:3}  top-5 {[CLASSES[i] for i in order[:5]]}")
    for kind, r in ranks.items():
        n = len(r)
        top1, top5 = sum(x == 1 for x in r), sum(x <= 5 for x in r)
        print(f"{kind:8} top-1 {top1}/{n}, top-5 {top5}/{n} (chance {n / 101:.2f} and {5 * n / 101:.2f} of {n})")


if __name__ == "__main__":
    main()
