"""Chinese-CLIP ViT-B/16 (OFA-Sys), as exported by the project's own ``cn_clip/deploy/pytorch_to_onnx.py``.

Image graph: ``image`` float32 [N, 3, 224, 224] -> ``unnorm_image_features`` [N, 512]. Text graph: ``text`` int64
[1, 52] (BERT ids: [CLS] ... [SEP], zero-padded) -> ``unnorm_text_features`` [1, 512]. Both outputs are
unnormalised; we L2-normalise them. Preprocessing follows ``cn_clip``'s ``image_transform``: a plain bicubic
resize to 224x224 (no crop), CLIP mean/std. The tokenizer is the Chinese RoBERTa-wwm WordPiece vocabulary
(``tokenizer.json`` of the Hugging Face port of the same model).
"""

from __future__ import annotations

from medialens.models.pipelines import register_pipeline
from medialens.models.pipelines.clip import ClipBase


@register_pipeline
class ChineseClipViTB16(ClipBase):
    model_name = "chinese-clip-vit-b16"
    center_crop = False
    context_length = 52
    pad_token = "[PAD]"
    prompt_template = "{}的照片。"
