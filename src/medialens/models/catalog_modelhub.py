"""Hub-tier models of the Model Hub services (semantic segmentation; colouring and face restoration to come).

Like ``catalog_hub``: pulled from Hugging Face (or a mirror through HF_ENDPOINT) by `medialens models pull`,
revisions pinned by commit hash (seen on the hub's file browser), files checked against the hub's LFS etag.
"""

from __future__ import annotations

from medialens.models.sources import HuggingFaceRepo
from medialens.models.spec import ModelSpec

MODELHUB_SPECS = (
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
        licence="Apple sample code licence (apple/ml-cvnets): check before shipping",
        input_size=(512, 512),
        used_by=("semantic_segmentation",),
        bundle="hub",
        description="DeepLabV3 with a MobileViT-small backbone (Apple), Pascal VOC 2012 (21 classes, 79.1 mIOU), ONNX.",
    ),
)
