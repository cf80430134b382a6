"""CLIP-style dual encoders (OpenCLIP ViT-B/32, M-CLIP): image and text towers as two ONNX graphs.

Image: RGB, bicubic resize of the short side to 224, centre crop, CLIP mean/std, NCHW float32 -> an L2-normalised
embedding. Text: ``tokenizer.json`` through ``tokenizers``, padded/truncated to the context length (77) ->
L2-normalised embedding. ``zero_shot`` turns one image embedding and several text embeddings into probabilities
(logit scale 100, softmax), as CLIP's zero-shot classifier does.

The towers are fed by the names and dtypes their graphs declare, so the same code serves immich's exports
(``image``/``text`` int32 -> ``embedding``, fixed batch of one) and Hugging Face/Optimum exports
(``pixel_values``, ``input_ids`` int64 + ``attention_mask`` -> ``image_embeds``/``text_embeds``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from PIL import Image

from medialens.config import Settings
from medialens.models.pipeline import Pipeline
from medialens.models.pipelines import register_pipeline
from medialens.models.runtime import onnx_session

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

ImageLike = Image.Image | np.ndarray

_ORT_DTYPES = {
    "tensor(float)": np.float32,
    "tensor(float16)": np.float16,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(uint8)": np.uint8,
}


# --- image helpers (shared by the other hub pipelines) ------------------------------------------------------------
def to_pil_rgb(image: ImageLike) -> Image.Image:
    """An RGB PIL image from a PIL image (any mode; alpha composited on white) or an RGB uint8 array."""
    if isinstance(image, np.ndarray):
        arr = image
        if arr.ndim == 2:
            arr = np.stack([arr] * 3, axis=-1)
        if arr.dtype != np.uint8:
            arr = np.clip(arr, 0, 255).astype(np.uint8)
        if arr.shape[-1] == 4:
            return to_pil_rgb(Image.fromarray(arr, "RGBA"))
        return Image.fromarray(arr[..., :3], "RGB")
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "P", "PA"):
        rgba = image.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        canvas.alpha_composite(rgba)
        return canvas.convert("RGB")
    return image.convert("RGB")


def resize_short_side(image: Image.Image, size: int, resample: int = Image.Resampling.BICUBIC) -> Image.Image:
    w, h = image.size
    scale = size / min(w, h)
    new = (max(size, round(w * scale)), max(size, round(h * scale)))
    return image if new == (w, h) else image.resize(new, resample=resample)


def center_crop(image: Image.Image, size: int) -> Image.Image:
    w, h = image.size
    left, top = round((w - size) / 2), round((h - size) / 2)
    return image.crop((left, top, left + size, top + size))


def normalize_chw(image: Image.Image, mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    """float32 [3, H, W]: pixels / 255, minus mean, over std (per RGB channel)."""
    arr = np.asarray(image, dtype=np.float32) / 255.0
    arr = (arr - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return np.ascontiguousarray(arr.transpose(2, 0, 1))


def l2_normalize(x: np.ndarray, axis: int = -1) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    norm = np.linalg.norm(x, axis=axis, keepdims=True)
    return x / np.maximum(norm, 1e-12)


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return (e / e.sum(axis=axis, keepdims=True)).astype(np.float32)


def zero_shot(image_emb: np.ndarray, text_embs: np.ndarray, logit_scale: float = 100.0) -> np.ndarray:
    """Probabilities over the texts for one image: softmax(logit_scale * cos(image, text_i)); sums to 1."""
    img = l2_normalize(np.asarray(image_emb).reshape(-1))
    txt = l2_normalize(np.atleast_2d(text_embs))
    return softmax(logit_scale * (txt @ img))


# --- ONNX towers ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Input:
    name: str
    dtype: Any
    shape: tuple[Any, ...]

    @property
    def fixed_batch(self) -> int | None:
        first = self.shape[0] if self.shape else None
        return first if isinstance(first, int) and first > 0 else None


class OnnxTower:
    """One ONNX graph producing [N, D] embeddings; feeds by declared input names, loops when batch is fixed."""

    def __init__(self, path: Path, settings: Settings, preferred_outputs: Sequence[str]) -> None:
        self.session = onnx_session(path, settings)
        self.inputs = {
            i.name: _Input(i.name, _ORT_DTYPES.get(i.type, np.float32), tuple(i.shape))
            for i in self.session.get_inputs()
        }
        names = [o.name for o in self.session.get_outputs()]
        self.output = next((n for n in preferred_outputs if n in names), names[0])

    def input_named(self, *candidates: str) -> _Input | None:
        return next((self.inputs[c] for c in candidates if c in self.inputs), None)

    @property
    def fixed_batch(self) -> int | None:
        return next(iter(self.inputs.values())).fixed_batch

    def run(self, feeds: Mapping[str, np.ndarray]) -> np.ndarray:
        feeds = {k: v.astype(self.inputs[k].dtype, copy=False) for k, v in feeds.items() if k in self.inputs}
        n = next(iter(feeds.values())).shape[0]
        if self.fixed_batch == 1 and n > 1:
            parts = [self.run({k: v[i : i + 1] for k, v in feeds.items()}) for i in range(n)]
            return np.concatenate(parts, axis=0)
        (out,) = self.session.run([self.output], dict(feeds))
        out = np.asarray(out, dtype=np.float32)
        return out.reshape(out.shape[0], -1) if out.ndim != 2 else out


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _token_content(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("content")
    return value if isinstance(value, str) else None


class TextTokenizer:
    """``tokenizer.json`` with padding and truncation to a fixed context length."""

    def __init__(self, path: Path, context_length: int, pad_token: str, pad_id: int | None = None) -> None:
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(path))
        pid = self.tokenizer.token_to_id(pad_token)
        self.pad_id = pid if pid is not None else (pad_id or 0)
        self.context_length = context_length
        self.tokenizer.enable_truncation(max_length=context_length)
        self.tokenizer.enable_padding(length=context_length, pad_id=self.pad_id, pad_token=pad_token)

    def __call__(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        encs = self.tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encs], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encs], dtype=np.int64)
        return {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}


# --- the pipeline ---------------------------------------------------------------------------------------------------
class ClipBase(Pipeline[ImageLike, np.ndarray, np.ndarray]):
    """Image -> L2-normalised embedding; ``embed_text`` and ``classify`` for the text side.

    Installed files: ``visual.onnx``, ``textual.onnx``, ``tokenizer.json`` (+ optional ``tokenizer_config.json``
    naming the pad token). The text tower is opened on first use.
    """

    image_size: ClassVar[int] = 224
    center_crop: ClassVar[bool] = True
    mean: ClassVar[tuple[float, float, float]] = CLIP_MEAN
    std: ClassVar[tuple[float, float, float]] = CLIP_STD
    context_length: ClassVar[int] = 77
    pad_token: ClassVar[str] = "<|endoftext|>"
    logit_scale: ClassVar[float] = 100.0
    prompt_template: ClassVar[str] = "a photo of a {}."
    image_outputs: ClassVar[tuple[str, ...]] = ("embedding", "image_embeds", "unnorm_image_features")
    text_outputs: ClassVar[tuple[str, ...]] = ("embedding", "text_embeds", "unnorm_text_features")

    def __init__(self, model_dir: Path, settings: Settings) -> None:
        super().__init__(model_dir, settings)
        self.visual = OnnxTower(model_dir / "visual.onnx", settings, self.image_outputs)
        self._image_input = next(iter(self.visual.inputs.values()))
        self._textual: OnnxTower | None = None
        self._tokenizer: TextTokenizer | None = None

    # image side
    def preprocess(self, item: ImageLike) -> np.ndarray:
        img = to_pil_rgb(item)
        if self.center_crop:
            img = center_crop(resize_short_side(img, self.image_size), self.image_size)
        else:
            img = img.resize((self.image_size, self.image_size), resample=Image.Resampling.BICUBIC)
        return normalize_chw(img, self.mean, self.std)

    def forward(self, batch: Sequence[np.ndarray]) -> Sequence[np.ndarray]:
        out = self.visual.run({self._image_input.name: np.stack(batch)})
        return list(out)

    def postprocess(self, raw: np.ndarray, item: ImageLike, pre: np.ndarray) -> np.ndarray:
        return l2_normalize(raw.reshape(-1))

    # text side
    def _text_side(self) -> tuple[OnnxTower, TextTokenizer]:
        if self._textual is None or self._tokenizer is None:
            cfg = _read_json(self.model_dir / "tokenizer_config.json")
            pad = _token_content(cfg.get("pad_token")) or self.pad_token
            self._tokenizer = TextTokenizer(self.model_dir / "tokenizer.json", self.context_length, pad)
            self._textual = OnnxTower(self.model_dir / "textual.onnx", self.settings, self.text_outputs)
        return self._textual, self._tokenizer

    def _text_feeds(self, tower: OnnxTower, tokens: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        feeds: dict[str, np.ndarray] = {}
        ids = tower.input_named("input_ids", "text", "input")
        if ids is None:
            raise RuntimeError(f"{self.model_name}: text graph has no token-id input ({list(tower.inputs)})")
        feeds[ids.name] = tokens["input_ids"]
        for name in ("attention_mask", "token_type_ids"):
            if name in tower.inputs:
                feeds[name] = tokens[name]
        return feeds

    def embed_text(self, texts: Sequence[str]) -> np.ndarray:
        """[len(texts), D] L2-normalised text embeddings."""
        tower, tokenizer = self._text_side()
        if not texts:
            return np.zeros((0, 0), np.float32)
        return l2_normalize(tower.run(self._text_feeds(tower, tokenizer(texts))))

    def embed_image(self, image: ImageLike) -> np.ndarray:
        return self(image)

    def zero_shot(self, image_emb: np.ndarray, text_embs: np.ndarray) -> np.ndarray:
        return zero_shot(image_emb, text_embs, self.logit_scale)

    def classify(self, image: ImageLike, labels: Sequence[str], template: str | None = None) -> list[tuple[str, float]]:
        """(label, probability) sorted by probability; prompts are ``template.format(label)``."""
        tmpl = self.prompt_template if template is None else template
        probs = self.zero_shot(self(image), self.embed_text([tmpl.format(label) for label in labels]))
        return sorted(zip(labels, probs.tolist(), strict=True), key=lambda x: -x[1])

    def close(self) -> None:
        self.visual = None  # type: ignore[assignment]
        self._textual = None
        self._tokenizer = None


@register_pipeline
class ClipViTB32(ClipBase):
    """OpenAI CLIP ViT-B/32 (immich's OpenCLIP export, or Xenova's Optimum export as the fallback source)."""

    model_name = "clip-vit-b32"


@register_pipeline
class MClipXlmRobertaViTB32(ClipBase):
    """M-CLIP XLM-RoBERTa-Large text tower (multilingual, incl. Chinese) + OpenAI ViT-B/32 image tower."""

    model_name = "mclip-xlm-roberta-large-vit-b32"
    pad_token = "<pad>"
    prompt_template = "{}"
