"""DeepLabV3 + MobileViT (Pascal VOC, 21 classes) semantic segmentation, as ONNX.

Preprocessing follows MobileViT's image processor except for the crop: the whole image is resized to 512 x 512
(so every pixel gets a class), channels flipped to BGR, scaled to 0-1, NCHW. The logits [21, 32, 32] are resized
to the image (bilinear) and soft-maxed: per pixel the best class and its probability.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from medialens.config import Settings
from medialens.models.pipeline import Pipeline
from medialens.models.pipelines import register_pipeline
from medialens.models.pipelines.clip import ImageLike, to_pil_rgb
from medialens.models.runtime import onnx_session

VOC_CLASSES = (
    "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
)  # fmt: skip


@dataclass
class Segmentation:
    classes: np.ndarray  # [H, W] int: class index per pixel (VOC_CLASSES)
    probs: np.ndarray  # [H, W] float32: that class's probability
    names: tuple[str, ...]


@register_pipeline
class DeepLabMobileViT(Pipeline[ImageLike, tuple[np.ndarray, tuple[int, int]], Segmentation]):
    model_name = "deeplabv3-mobilevit-voc"
    onnx_file = "model.onnx"
    size = 512

    def __init__(self, model_dir: Path, settings: Settings) -> None:
        super().__init__(model_dir, settings)
        self.session = onnx_session(model_dir / self.onnx_file, settings)
        self.input_name = self.session.get_inputs()[0].name

    def preprocess(self, item: ImageLike) -> tuple[np.ndarray, tuple[int, int]]:
        from PIL import Image

        img = to_pil_rgb(item)
        x = np.asarray(img.resize((self.size, self.size), Image.Resampling.BILINEAR), np.float32) / 255.0
        return np.ascontiguousarray(x[:, :, ::-1].transpose(2, 0, 1)), (img.height, img.width)

    def forward(self, batch: Sequence[tuple[np.ndarray, tuple[int, int]]]) -> Sequence[np.ndarray]:
        x = np.stack([b[0] for b in batch])
        (logits,) = self.session.run(None, {self.input_name: x})[:1]
        return list(logits)

    def postprocess(self, raw: np.ndarray, item: ImageLike, pre: tuple[np.ndarray, tuple[int, int]]) -> Segmentation:
        import cv2

        h, w = pre[1]
        logits = np.asarray(raw, np.float32)  # [C, h', w']
        up = cv2.resize(logits.transpose(1, 2, 0), (w, h), interpolation=cv2.INTER_LINEAR)
        up = up.reshape(h, w, -1)
        e = np.exp(up - up.max(axis=2, keepdims=True))
        probs = e / e.sum(axis=2, keepdims=True)
        classes = probs.argmax(axis=2)
        best = np.take_along_axis(probs, classes[:, :, None], axis=2)[:, :, 0]
        names = VOC_CLASSES if logits.shape[0] == len(VOC_CLASSES) else tuple(str(i) for i in range(logits.shape[0]))
        return Segmentation(classes=classes.astype(np.int32), probs=best.astype(np.float32), names=names)

    def close(self) -> None:
        self.session = None  # type: ignore[assignment]
