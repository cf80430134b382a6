"""Classify accuracy with the hub CLIP model installed: a tiny CLIP in the hub's layout, pulled from the loopback
mirror into the server's model folder beside the offline bundle. The tiny model knows nothing, so this checks that
the fusion keeps the other evidence in charge (the accuracy target holds) while CLIP is really used (indexing
stores CLIP image embeddings, classify embeds the prompts with its text tower). Real CLIP accuracy cannot be
measured offline (no weights here)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from onnx import TensorProto

from tests.e2e.test_twelvelabs import CLASSES, OPTIONS, TL_MODELS, TRUTH, _top
from tests.e2e.twelvelabs_media import speech_video, text_card_video
from tests.support import LiveServer, ensure_models, live_server

# One short video of each class but the two long silent ones (bottles 40 s, cars 30 s: their classes stay among
# the prompts); test_twelvelabs.py classifies all fifteen without CLIP.
LEFT_OUT = {f"asl_{w}.mkv" for w in ("hungry", "no", "please", "sorry", "student", "walk", "want")}
LEFT_OUT |= {"intel_bottles.mp4", "intel_cars_parking_lot.mp4"}


@pytest.fixture(scope="module")
def clip_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    from medialens.config import Settings
    from medialens.models.installed import installed, pull
    from medialens.models.registry import get_spec
    from tests.unit.hub.conftest import image_embedder, serve, text_embedder, unpinned
    from tests.unit.hub.test_clip import clip_tokenizer
    from tests.unit.models.conftest import Mirror

    root = tmp_path_factory.mktemp("tl-clip")
    models = root / "models"
    models.mkdir()
    bundle = ensure_models(*TL_MODELS)
    for name in TL_MODELS:
        (models / name).symlink_to(bundle / name)
    mirror, mp = Mirror(), pytest.MonkeyPatch()
    try:
        mp.setenv("HF_ENDPOINT", mirror.base + "/hf")
        mp.setenv("HF_HOME", str(root / "hf"))
        for var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE"):
            mp.delenv(var, raising=False)
        tok = clip_tokenizer(root, "<|startoftext|>", "<|endoftext|>", "<|endoftext|>", "<unk>")
        files = {
            "visual.onnx": image_embedder("image", "embedding", 512, batch=1),
            "textual.onnx": text_embedder("text", "embedding", 64, 512, dtype=TensorProto.INT32, batch=1, seq=77),
            "tokenizer.json": tok,
            "tokenizer_config.json": json.dumps({"pad_token": "<|endoftext|>", "model_max_length": 77}).encode(),
        }
        serve(mirror, unpinned(get_spec("clip-vit-b32"), mp).sources[0], files)
        settings = Settings(model_dir=models)
        pull("clip-vit-b32", settings=settings)
        assert installed("clip-vit-b32", settings)
    finally:
        mp.undo()
        mirror.close()
    srv = live_server(root / "server")
    srv.env["MEDIALENS_MODEL_DIR"] = str(models)
    srv.start()
    yield srv
    srv.stop()


def test_accuracy_with_the_hub_clip_model(clip_server: LiveServer, tmp_path: Path, monkeypatch) -> None:
    from tests.conftest import MEDIA

    monkeypatch.setenv("TWELVELABS_BASE_URL", clip_server.base_url)
    from twelvelabs import TwelveLabs

    client = TwelveLabs(api_key=json.loads(clip_server.cli("apikeys", "create", "--json"))["api_key"])
    media = {n: MEDIA / "video" / n for n in TRUTH if (MEDIA / "video" / n).exists() and n not in LEFT_OUT}
    media["sale.mp4"] = text_card_video(tmp_path / "sale.mp4")
    media["speech.mp4"] = speech_video(tmp_path / "speech.mp4")
    index = client.index.create(name="clip", engines=[{"name": "marengo2.6", "options": OPTIONS}])
    started = time.monotonic()
    tasks = {name: client.task.create(index_id=index.id, file=str(path)) for name, path in sorted(media.items())}
    for name, task in tasks.items():
        task.wait_for_done(sleep_interval=0.2)
        assert task.status == "ready", (name, task)
    videos = {name: client.task.retrieve(t.id).video_id for name, t in tasks.items()}

    from medialens.config import Settings
    from medialens.store import video_index as vs
    from medialens.store.db import Database

    db = Database(Settings(data_dir=Path(clip_server.env["MEDIALENS_DATA_DIR"])).resolved_database_url)
    with db.session() as session:
        owner = session.get(vs.VideoIndex, index.id).app_id
    rows = vs.ready_videos(db, owner, index.id)
    methods = {(r or {}).get("method", "") for _j, r in vs.job_results(db, [row.job_id for row in rows])}
    assert methods and all(m.startswith("clip-vit-b32") for m in methods), methods

    res = client.classify.videos(video_ids=list(videos.values()), options=OPTIONS, classes=CLASSES, page_limit=50)
    top = _top(res)
    name_of = {v: n for n, v in videos.items()}
    wrong = {name_of[v]: cls for v, cls in top.items() if cls != TRUTH[name_of[v]]}
    accuracy = 1 - len(wrong) / len(videos)
    spent = time.monotonic() - started
    print(f"\nwith the (tiny, unknowing) hub CLIP: top-1 {accuracy:.0%}; wrong: {wrong}; {spent:.0f} s")
    assert accuracy >= 0.8, wrong
