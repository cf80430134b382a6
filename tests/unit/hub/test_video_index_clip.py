"""Video indexing and classify with the hub CLIP model (a tiny one in its hub layout, pulled over the loopback
mirror): segments keep a CLIP image embedding and classify scores prompts with CLIP's text tower."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
from onnx import TensorProto

from medialens.analyses import classify_by_prompts as cbp
from medialens.models.installed import installed, pull
from medialens.models.loader import get_pipeline
from medialens.models.registry import get_spec
from medialens.tasks import get_task
from medialens.tasks.base import TaskContext, TaskInput
from tests.conftest import MEDIA
from tests.support import ensure_models
from tests.unit.hub.conftest import image_embedder, serve, text_embedder
from tests.unit.hub.test_clip import clip_tokenizer


def test_index_and_classify_through_clip(mirror, settings, tmp_path: Path) -> None:
    bundle = ensure_models("mobilenet-v2", "nanodet", "e5-small-q4")
    settings.resolved_model_dir.mkdir(parents=True, exist_ok=True)
    for name in ("mobilenet-v2", "nanodet", "e5-small-q4"):
        (settings.resolved_model_dir / name).symlink_to(bundle / name)
    spec = get_spec("clip-vit-b32")
    tok = clip_tokenizer(tmp_path, "<|startoftext|>", "<|endoftext|>", "<|endoftext|>", "<unk>")
    serve(
        mirror,
        spec.sources[0],
        {
            "visual.onnx": image_embedder("image", "embedding", 512, batch=1),
            "textual.onnx": text_embedder("text", "embedding", 64, 512, dtype=TensorProto.INT32, batch=1, seq=77),
            "tokenizer.json": tok,
            "tokenizer_config.json": json.dumps({"pad_token": "<|endoftext|>", "model_max_length": 77}).encode(),
        },
    )
    pull("clip-vit-b32", settings=settings)
    assert installed("clip-vit-b32", settings)

    ctx = TaskContext(settings=settings, workdir=Path(tempfile.mkdtemp(dir=tmp_path)))
    from medialens.blobs import open_blob_store

    open_blob_store(settings).put_file("v", MEDIA / "video" / "asl_want.mkv")
    result = get_task("video_index").run(ctx, TaskInput(options={"blob_key": "v"}).model_dump())
    assert result.method.startswith("clip-vit-b32")
    assert all(s.clip_embedding and len(s.clip_embedding) == 512 for s in result.segments)

    ev = cbp.compile_evidence(result.model_dump(mode="json"))
    assert ev.clip is not None
    prompts = ["a photo of a cat", "a photo of a car"]
    text = np.asarray(get_pipeline("clip-vit-b32", settings).embed_text(prompts), np.float32)
    text /= np.linalg.norm(text, axis=1, keepdims=True)
    classes = [cbp.ClassSpec("cat", (prompts[0],), ("visual",)), cbp.ClassSpec("car", (prompts[1],), ("visual",))]
    e5 = dict(zip(prompts, np.eye(2, cbp.EMBED_DIM, dtype=np.float32), strict=True))
    with_clip = cbp.classify_video(ev, classes, e5, clip_text=dict(zip(prompts, text, strict=True)))
    # CLIP is fused into the e5 logit: its log-odds of each prompt against the other on the same segment
    e5_logit = (ev.embeddings["visual"] @ np.stack(list(e5.values())).T - cbp.VISUAL_CENTER) / cbp.VISUAL_SCALE
    cos = ev.clip @ text.T
    fused = e5_logit + cbp.CLIP_WEIGHT * cbp.CLIP_LOGIT_SCALE * (cos - cos.mean(axis=1, keepdims=True))
    expected = (100 / (1 + np.exp(-fused))).max(axis=0)
    assert [r.max_score for r in with_clip] == [round(float(x), 2) for x in expected]
    without = cbp.classify_video(ev, classes, e5)
    assert [r.max_score for r in without] == [round(float(x), 2) for x in (100 / (1 + np.exp(-e5_logit))).max(0)]
