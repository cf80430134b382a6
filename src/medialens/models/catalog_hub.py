"""Hub-tier models: real weights on Hugging Face (or a mirror through HF_ENDPOINT), pulled by `medialens models pull`.

Until pulled they are "not deployed": protocols answer "model not found" and `medialens models list` says how to
get them.

Revisions are commit hashes where one was known when the spec was written (seen on the hub's file browser);
``main`` otherwise. Files are not pinned by sha256 unless stated: the hub's ``X-Linked-Etag`` (the LFS object's
sha256) is checked on every download instead (see ``HuggingFaceRepo.fetch``). Loaders and pre/post-processing
live in ``medialens.models.pipelines`` (clip, chinese_clip, wd14, yolo, places).
"""

from __future__ import annotations

from medialens.models.convert import PLACES365_CHECKPOINT, PLACES365_ONNX, convert_places365_resnet18
from medialens.models.sources import HuggingFaceRepo, JoinedParts, UrlFile
from medialens.models.spec import ModelSpec

# --- Places365 (CSAIL) ----------------------------------------------------------------------------------------------
_PLACES365 = "http://places2.csail.mit.edu/models_places365"
_PLACES365_CATEGORIES = "https://raw.githubusercontent.com/CSAILVision/places365/master/categories_places365.txt"

# --- CLIP ViT-B/32 ------------------------------------------------------------------------------------------------
# immich's OpenCLIP export: visual/model.onnx (image [1,3,224,224] -> embedding [1,512], normalised),
# textual/model.onnx (text int32 [1,77] -> embedding), textual/tokenizer.json + tokenizer_config.json.
_IMMICH_CLIP_B32 = HuggingFaceRepo(
    "immich-app/ViT-B-32__openai",
    "b0921d05f0d91c47e3d97072fada0c1391a936f6",
    {
        "visual/model.onnx": "visual.onnx",
        "textual/model.onnx": "textual.onnx",
        "textual/tokenizer.json": "tokenizer.json",
        "textual/tokenizer_config.json": "tokenizer_config.json",
    },
)
# Xenova's Optimum export of openai/clip-vit-base-patch32 (pixel_values -> image_embeds; input_ids -> text_embeds).
_XENOVA_CLIP_B32 = HuggingFaceRepo(
    "Xenova/clip-vit-base-patch32",
    "4c1807b705b1d015fb032789cc4d221b23025a6f",
    {
        "onnx/vision_model.onnx": "visual.onnx",
        "onnx/text_model.onnx": "textual.onnx",
        "tokenizer.json": "tokenizer.json",
        "tokenizer_config.json": "tokenizer_config.json",
    },
)
_CLIP_FILES = ("visual.onnx", "textual.onnx", "tokenizer.json", "tokenizer_config.json")

# --- WD14 taggers (SmilingWolf, v2) ---------------------------------------------------------------------------------
_WD14_CONVNEXTV2_REV = "dbd4dbe553ee51feb3bc745b614fb762080e3912"
_WD14_CONVNEXT_REV = "4b34d1b07bdd8e95494072648960b8a6adcbc0ff"
_WD14_SWINV2_REV = "cdb0c7fdc70646f0af29c6f80f8df564344a69b6"
_WD14 = (
    # (model name, repo, revision, architecture)
    ("wd14-convnextv2-v2", "SmilingWolf/wd-v1-4-convnextv2-tagger-v2", _WD14_CONVNEXTV2_REV, "ConvNeXtV2"),
    ("wd14-convnext-v2", "SmilingWolf/wd-v1-4-convnext-tagger-v2", _WD14_CONVNEXT_REV, "ConvNeXt"),
    ("wd14-vit-v2", "SmilingWolf/wd-v1-4-vit-tagger-v2", "main", "ViT"),
    ("wd14-swinv2-v2", "SmilingWolf/wd-v1-4-swinv2-tagger-v2", _WD14_SWINV2_REV, "SwinV2 (v2.1 export)"),
)


def _wd14(name: str, repo: str, revision: str, arch: str) -> ModelSpec:
    return ModelSpec(
        name=name,
        task="image-tagging",
        runtime="onnx",
        sources=(
            HuggingFaceRepo(repo, revision, {"model.onnx": "model.onnx", "selected_tags.csv": "selected_tags.csv"}),
        ),
        files=("model.onnx", "selected_tags.csv"),
        licence="Apache-2.0",
        input_size=(448, 448),
        used_by=("image_tags",),
        bundle="hub",
        description=f"WD14 {arch} tagger ({repo}): Danbooru rating/general/character tags; PAI tagger_type {repo}.",
    )


HUB_SPECS: tuple[ModelSpec, ...] = (
    ModelSpec(
        name="clip-vit-b32",
        task="image-text-embedding",
        runtime="onnx",
        sources=(_IMMICH_CLIP_B32, _XENOVA_CLIP_B32),
        files=_CLIP_FILES,
        licence="MIT",
        languages=("en",),
        input_size=(224, 224),
        used_by=("classify_by_prompts", "video_index", "image_tags"),
        bundle="hub",
        description="OpenAI CLIP ViT-B/32 image + text towers (512-d, zero-shot by prompts); immich's ONNX "
        "export, Xenova's Optimum export as the fallback source.",
    ),
    ModelSpec(
        name="mclip-xlm-roberta-large-vit-b32",
        task="image-text-embedding",
        runtime="onnx",
        sources=(
            HuggingFaceRepo(
                "immich-app/XLM-Roberta-Large-Vit-B-32",
                "main",
                {
                    "visual/model.onnx": "visual.onnx",
                    "textual/model.onnx": "textual.onnx",
                    "textual/tokenizer.json": "tokenizer.json",
                    "textual/tokenizer_config.json": "tokenizer_config.json",
                },
            ),
        ),
        files=_CLIP_FILES,
        licence="MIT",
        languages=("multilingual",),
        input_size=(224, 224),
        used_by=("classify_by_prompts", "video_index"),
        bundle="hub",
        description="M-CLIP XLM-RoBERTa-Large text tower (48 languages incl. Chinese; input_ids + attention_mask "
        "int32 [1,77]) + OpenAI ViT-B/32 image tower, immich's ONNX export.",
    ),
    ModelSpec(
        name="chinese-clip-vit-b16",
        task="image-text-embedding",
        runtime="onnx",
        sources=(
            JoinedParts(
                parts=(
                    # cn_clip's own ONNX export (deploy/pytorch_to_onnx.py): image -> unnorm_image_features,
                    # text int64 [1,52] -> unnorm_text_features.
                    HuggingFaceRepo(
                        "eisneim/cn-clip_vit-b-16",
                        "0ab0e0ce47e796c2b98d2e3cc4d1190c9b3d426d",
                        {"vit-b-16.img.fp32.onnx": "visual.onnx", "vit-b-16.txt.fp32.onnx": "textual.onnx"},
                    ),
                    # The same model's WordPiece tokenizer (Chinese RoBERTa-wwm vocabulary, 21128 tokens).
                    HuggingFaceRepo(
                        "Xenova/chinese-clip-vit-base-patch16",
                        "3100d72f2cad6ff67647a0f6ff6154cd06f6579c",
                        {"tokenizer.json": "tokenizer.json"},
                    ),
                ),
            ),
        ),
        files=("visual.onnx", "textual.onnx", "tokenizer.json"),
        licence="MIT",
        languages=("zh",),
        input_size=(224, 224),
        used_by=("classify_by_prompts", "video_index"),
        bundle="hub",
        description="Chinese-CLIP ViT-B/16 (OFA-Sys) image + text towers, fp32 ONNX from cn_clip's exporter; "
        "Chinese prompts.",
    ),
    *(_wd14(*row) for row in _WD14),
    ModelSpec(
        name="yolov8n",
        task="object-detection",
        runtime="onnx",
        sources=(HuggingFaceRepo("cabelo/yolov8", "main", {"yolov8n.onnx": "yolov8n.onnx"}),),
        files=("yolov8n.onnx",),
        licence="AGPL-3.0",
        input_size=(640, 640),
        used_by=("detection",),
        bundle="hub",
        description="Ultralytics YOLOv8n COCO-80 detector, stock ONNX export (images [1,3,640,640] -> "
        "output0 [1,84,8400]). AGPL-3.0: check before shipping.",
    ),
    ModelSpec(
        name="yolov8n-seg",
        task="instance-segmentation",
        runtime="onnx",
        sources=(
            HuggingFaceRepo(
                "camstack/camstack-models",
                "6e748c26548e917e30f536c7ebab47ac48df5171",
                {"segmentation/yolov8-seg/onnx/camstack-yolov8n-seg.onnx": "yolov8n-seg.onnx"},
                sha256={
                    "segmentation/yolov8-seg/onnx/camstack-yolov8n-seg.onnx": (
                        "58cd44a9f74de0705a16d68ae65d50cf5d3ad0b9e231cdae3b2897f4d44888f3"
                    )
                },
            ),
        ),
        files=("yolov8n-seg.onnx",),
        licence="AGPL-3.0",
        input_size=(640, 640),
        used_by=("detection", "segmentation"),
        bundle="hub",
        description="Ultralytics YOLOv8n-seg COCO-80 instance segmentation, ONNX (output0 [1,116,8400], "
        "output1 protos [1,32,160,160]). AGPL-3.0: check before shipping.",
    ),
    ModelSpec(
        name="places365-resnet18",
        task="scene-classification",
        runtime="onnx",
        sources=(
            # CSAIL's own release (github.com/CSAILVision/places365: the README's ResNet18 link and the category
            # file its run_placesCNN_basic.py downloads). CSAIL publishes no digests, so the files are unpinned:
            # the manifest records the sha256 seen. The checkpoint is converted to ONNX at pull time, torch-free.
            JoinedParts(
                parts=(
                    UrlFile(f"{_PLACES365}/{PLACES365_CHECKPOINT}", None),
                    UrlFile(_PLACES365_CATEGORIES, None),
                ),
            ),
        ),
        raw_files=(PLACES365_CHECKPOINT, "categories_places365.txt"),
        convert=convert_places365_resnet18,
        files=(PLACES365_ONNX, "categories_places365.txt"),
        licence="CC-BY-4.0",
        input_size=(224, 224),
        used_by=("image_tags", "video_tags", "scene_classification"),
        bundle="hub",
        description="Places365-Standard ResNet18 (CSAIL, torchvision layout): 365 scene categories; CSAIL's "
        "resnet18_places365.pth.tar converted to ONNX at pull time.",
    ),
)
