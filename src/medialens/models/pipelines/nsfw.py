"""Yahoo open_nsfw (ResNet-50, Caffe original) as ONNX: probability that an image is not safe for work.

Input follows the original Caffe deployment (yahoo/open_nsfw ``classify_nsfw.py``): the RGB image is resized to
256×256 (bilinear), round-tripped through JPEG (the training images were JPEGs and the network is sensitive to
the artefacts), centre-cropped to 224×224, turned to BGR and the channel means [104, 117, 123] subtracted; no
scaling. The ONNX graph takes NHWC float32 [N, 224, 224, 3] and returns a softmax [N, 2] = (SFW, NSFW).
Yahoo's guidance: below 0.2 safe, above 0.8 NSFW, in between uncertain.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from medialens.config import Settings
from medialens.models.pipeline import Pipeline
from medialens.models.pipelines import register_pipeline

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

MODEL_FILE = "open_nsfw.onnx"
RESIZE = 256
CROP = 224
BGR_MEAN = (104.0, 117.0, 123.0)
SAFE_BELOW = 0.2
NSFW_ABOVE = 0.8


@dataclass(frozen=True)
class NsfwResult:
    nsfw_probability: float
    label: str
    """``sfw`` (< 0.2), ``nsfw`` (≥ 0.8) or ``uncertain``."""

    def to_dict(self) -> dict[str, Any]:
        return {"nsfw_probability": round(self.nsfw_probability, 5), "label": self.label}


def nsfw_label(p: float) -> str:
    if p >= NSFW_ABOVE:
        return "nsfw"
    return "sfw" if p < SAFE_BELOW else "uncertain"


def _to_rgb_image(item: Any) -> Image.Image:
    import numpy as np
    from PIL import Image

    if isinstance(item, Image.Image):
        img = item
    elif isinstance(item, np.ndarray):
        img = Image.fromarray(item.astype(np.uint8, copy=False))
    else:
        raise TypeError(f"expected a decoded image (PIL image or RGB ndarray), not {type(item).__name__}")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        img = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    return img.convert("RGB") if img.mode != "RGB" else img


@register_pipeline
class OpenNsfwPipeline(Pipeline[Any, "np.ndarray", NsfwResult]):
    """Decoded image (PIL image or RGB ndarray; media/ decodes files) → :class:`NsfwResult`."""

    model_name: ClassVar[str] = "open-nsfw"
    max_batch_size: ClassVar[int] = 16

    def __init__(self, model_dir: Path, settings: Settings) -> None:
        super().__init__(model_dir, settings)
        from medialens.models.runtime import onnx_session

        self._session = onnx_session(model_dir / MODEL_FILE, settings)
        self._input = self._session.get_inputs()[0].name

    def preprocess(self, item: Any) -> np.ndarray:
        """224 x 224 x 3 float32, BGR minus the Caffe means."""
        import numpy as np
        from PIL import Image

        img = _to_rgb_image(item).resize((RESIZE, RESIZE), resample=Image.BILINEAR)
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=75)
        buf.seek(0)
        with Image.open(buf) as jpeg:
            rgb = np.asarray(jpeg.convert("RGB"), dtype=np.float32)
        off = (RESIZE - CROP) // 2
        bgr = rgb[off : off + CROP, off : off + CROP, ::-1]
        return np.ascontiguousarray(bgr - np.array(BGR_MEAN, np.float32))

    def forward(self, batch: Sequence[np.ndarray]) -> list[float]:
        import numpy as np

        if not batch:
            return []
        probs = self._session.run(None, {self._input: np.stack(batch).astype(np.float32, copy=False)})[0]
        return [float(p[1]) for p in probs]

    def postprocess(self, raw: float, item: Any, pre: np.ndarray) -> NsfwResult:
        p = min(1.0, max(0.0, float(raw)))
        return NsfwResult(nsfw_probability=p, label=nsfw_label(p))

    def close(self) -> None:
        self._session = None
