"""CLIP ViT-B/32 (immich and Xenova layouts), M-CLIP and Chinese-CLIP over the loopback hub mirror."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from onnx import TensorProto
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

from medialens.models.installed import installed, pull
from medialens.models.pipelines import pipeline_class
from medialens.models.pipelines.clip import zero_shot
from medialens.models.registry import get_spec
from tests.unit.hub.conftest import image_embedder, media_image, serve, text_embedder

WORDS = ["a", "photo", "of", "cat", "dog", "car", "tree", "the"]


def clip_tokenizer(tmp: Path, bos: str, eos: str, pad: str, unk: str) -> bytes:
    vocab = {t: i for i, t in enumerate(dict.fromkeys([pad, unk, bos, eos, *WORDS]))}
    tok = Tokenizer(models.WordLevel(vocab, unk_token=unk))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", special_tokens=[(bos, vocab[bos]), (eos, vocab[eos])]
    )
    path = tmp / "tok.json"
    tok.save(str(path))
    return path.read_bytes()


def test_clip_vit_b32_immich_layout(mirror, settings, tmp_path: Path) -> None:
    spec = get_spec("clip-vit-b32")
    assert spec.bundle == "hub"
    tok = clip_tokenizer(tmp_path, "<|startoftext|>", "<|endoftext|>", "<|endoftext|>", "<unk>")
    files = {
        "visual.onnx": image_embedder("image", "embedding", 512, batch=1),
        "textual.onnx": text_embedder("text", "embedding", 64, 512, dtype=TensorProto.INT32, batch=1, seq=77),
        "tokenizer.json": tok,
        "tokenizer_config.json": json.dumps({"pad_token": "<|endoftext|>", "model_max_length": 77}).encode(),
    }
    serve(mirror, spec.sources[0], files)
    assert not installed("clip-vit-b32", settings)

    path = pull("clip-vit-b32", settings=settings)
    assert path == settings.resolved_model_dir / "clip-vit-b32"
    assert installed("clip-vit-b32", settings)
    assert all(p.startswith("/hf/immich-app/ViT-B-32__openai/resolve/") for p in mirror.paths())

    pipe = pipeline_class("clip-vit-b32")(path, settings)
    image = media_image()
    pre = pipe.preprocess(image)
    assert pre.shape == (3, 224, 224) and pre.dtype == np.float32
    emb = pipe(image)
    assert emb.shape == (512,) and emb.dtype == np.float32
    assert np.linalg.norm(emb) == pytest.approx(1.0, abs=1e-5)
    # a batch through a fixed-batch-of-one graph gives the same embeddings as one at a time
    batch = pipe.run_batch([image, image.rotate(90, expand=True)])
    assert np.allclose(batch[0], emb, atol=1e-6) and not np.allclose(batch[1], emb, atol=1e-3)

    texts = ["a photo of a cat", "a photo of a dog", "a photo of a car"]
    txt = pipe.embed_text(texts)
    assert txt.shape == (3, 512)
    assert np.allclose(np.linalg.norm(txt, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(txt[0], txt[1])
    probs = pipe.zero_shot(emb, txt)
    assert probs.shape == (3,) and probs.sum() == pytest.approx(1.0, abs=1e-5) and (probs >= 0).all()
    ranked = pipe.classify(image, ["cat", "dog", "car"])
    assert [label for label, _ in ranked] == [texts[i].split()[-1] for i in np.argsort(-probs)]

    # the tokenizer pads/truncates to 77 with the pad token and keeps BOS/EOS
    _, tokenizer = pipe._text_side()
    ids = tokenizer(["a photo of a cat"])["input_ids"]
    assert ids.shape == (1, 77)
    vocab = json.loads(tok)["model"]["vocab"]
    assert ids[0, 0] == vocab["<|startoftext|>"] and ids[0, 6] == vocab["<|endoftext|>"]
    assert (ids[0, 7:] == vocab["<|endoftext|>"]).all()
    assert tokenizer([" ".join(["cat"] * 200)])["input_ids"].shape == (1, 77)


def test_clip_falls_back_to_xenova_layout(mirror, settings, tmp_path: Path) -> None:
    """immich's repo unreachable: the second source (Optimum export: pixel_values, input_ids int64 +
    attention_mask, image_embeds/text_embeds, extra last_hidden_state output) serves the same pipeline."""
    spec = get_spec("clip-vit-b32")
    files = {
        "visual.onnx": image_embedder(
            "pixel_values", "image_embeds", 512, extra_outputs=("last_hidden_state",), scale=7.0
        ),
        "textual.onnx": text_embedder("input_ids", "text_embeds", 64, 512, extra_inputs=("attention_mask",), scale=3.0),
        "tokenizer.json": clip_tokenizer(tmp_path, "<|startoftext|>", "<|endoftext|>", "<|endoftext|>", "<unk>"),
        "tokenizer_config.json": json.dumps({"pad_token": {"content": "<|endoftext|>"}}).encode(),
    }
    serve(mirror, spec.sources[1], files)  # nothing at the immich paths: 404
    path = pull("clip-vit-b32", settings=settings)
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["source"].startswith("hf:Xenova/clip-vit-base-patch32@")

    pipe = pipeline_class("clip-vit-b32")(path, settings)
    emb = pipe(media_image())
    assert np.linalg.norm(emb) == pytest.approx(1.0, abs=1e-5)  # unnormalised graph output, normalised here
    txt = pipe.embed_text(["a photo of a dog", "the tree"])
    assert txt.shape == (2, 512) and np.allclose(np.linalg.norm(txt, axis=1), 1.0, atol=1e-5)
    assert zero_shot(emb, txt).sum() == pytest.approx(1.0, abs=1e-5)


def test_mclip_multilingual(mirror, settings, tmp_path: Path) -> None:
    spec = get_spec("mclip-xlm-roberta-large-vit-b32")
    files = {
        "visual.onnx": image_embedder("image", "embedding", 512, batch=1),
        "textual.onnx": text_embedder(
            "input_ids",
            "embedding",
            64,
            512,
            dtype=TensorProto.INT32,
            batch=1,
            seq=77,
            extra_inputs=("attention_mask",),
        ),
        "tokenizer.json": clip_tokenizer(tmp_path, "<s>", "</s>", "<pad>", "<unk>"),
        "tokenizer_config.json": json.dumps({"pad_token": "<pad>"}).encode(),
    }
    serve(mirror, spec.sources[0], files)
    pipe = pipeline_class(spec.name)(pull(spec.name, settings=settings), settings)
    _, tokenizer = pipe._text_side()
    toks = tokenizer(["a cat"])
    assert toks["input_ids"].shape == (1, 77) and toks["attention_mask"][0].tolist() == [1] * 4 + [0] * 73
    probs = pipe.zero_shot(pipe(media_image()), pipe.embed_text(["cat", "dog"]))
    assert probs.sum() == pytest.approx(1.0, abs=1e-5)


def chinese_tokenizer(tmp: Path) -> bytes:
    chars = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "一", "只", "猫", "狗", "的", "照", "片"]
    vocab = {c: i for i, c in enumerate(chars)}
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(handle_chinese_chars=True, lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    path = tmp / "zh.json"
    tok.save(str(path))
    return path.read_bytes()


def test_chinese_clip_two_repos(mirror, settings, tmp_path: Path) -> None:
    spec = get_spec("chinese-clip-vit-b16")
    files = {
        "visual.onnx": image_embedder("image", "unnorm_image_features", 512, scale=5.0),
        "textual.onnx": text_embedder(
            "text", "unnorm_text_features", 11, 512, dtype=TensorProto.INT64, batch=1, seq=52, scale=4.0
        ),
        "tokenizer.json": chinese_tokenizer(tmp_path),
    }
    serve(mirror, spec, files)
    path = pull(spec.name, settings=settings)
    assert {p.split("/resolve/")[0] for p in mirror.paths()} == {
        "/hf/eisneim/cn-clip_vit-b-16",
        "/hf/Xenova/chinese-clip-vit-base-patch16",
    }
    pipe = pipeline_class(spec.name)(path, settings)
    image = media_image()
    pre = pipe.preprocess(image)
    assert pre.shape == (3, 224, 224)  # plain resize, no crop: the left and right edges survive
    emb = pipe(image)
    assert emb.shape == (512,) and np.linalg.norm(emb) == pytest.approx(1.0, abs=1e-5)
    _, tokenizer = pipe._text_side()
    ids = tokenizer(["一只猫的照片"])["input_ids"]
    assert ids.shape == (1, 52) and ids[0, :8].tolist() == [2, 4, 5, 6, 8, 9, 10, 3] and (ids[0, 8:] == 0).all()
    txt = pipe.embed_text(["一只猫", "一只狗"])  # text graph has a fixed batch of one: run per text
    assert txt.shape == (2, 512) and np.allclose(np.linalg.norm(txt, axis=1), 1.0, atol=1e-5)
    probs = pipe.zero_shot(emb, txt)
    assert probs.sum() == pytest.approx(1.0, abs=1e-5)
