"""Real-ESRGAN x2 (ONNX), the hub tier of ``video_super_resolution``: one RGB frame in, the frame at twice the size.

The network takes RGB scaled to 0-1, NCHW. A whole frame at once would need memory in proportion to its area
(RRDBNet keeps 64-channel maps at full size), so the frame is cut into ``TILE`` x ``TILE`` tiles, each read with
``TILE_PAD`` pixels of context on every side (edge-replicated at the border) so no seam shows; the context is
cropped from each up-scaled tile before it is pasted (Real-ESRGAN's own tiled inference does the same). Every
window the network sees is the same size (``TILE + 2 * TILE_PAD`` = 256: the frame is edge-padded to whole tiles),
so exports with a fixed input size work as well as dynamic ones. The scale is
read from the network's answer, so an x4 export works too (the analysis resizes to x2).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from medialens.config import Settings
from medialens.models.pipeline import Pipeline
from medialens.models.pipelines import register_pipeline
from medialens.models.runtime import onnx_session

TILE = 224
TILE_PAD = 16


def tiles(height: int, width: int, tile: int = TILE) -> list[tuple[int, int, int, int]]:
    """(y0, y1, x0, x1) of each tile covering the frame, row by row."""
    return [
        (y, min(y + tile, height), x, min(x + tile, width))
        for y in range(0, height, tile)
        for x in range(0, width, tile)
    ]


@register_pipeline
class RealESRGANx2(Pipeline[np.ndarray, np.ndarray, np.ndarray]):
    """uint8 RGB [H, W, 3] -> uint8 RGB [sH, sW, 3]."""

    model_name = "realesrgan-x2"
    onnx_file = "real_esrgan_x2.onnx"
    max_batch_size = 1

    def __init__(self, model_dir: Path, settings: Settings) -> None:
        super().__init__(model_dir, settings)
        self.session = onnx_session(model_dir / self.onnx_file, settings)
        self.input_name = self.session.get_inputs()[0].name

    def preprocess(self, item: np.ndarray) -> np.ndarray:
        rgb = np.asarray(item, np.float32) / 255.0
        h, w = rgb.shape[:2]
        extra_h, extra_w = -h % TILE, -w % TILE  # up to whole tiles
        pads = ((TILE_PAD, TILE_PAD + extra_h), (TILE_PAD, TILE_PAD + extra_w), (0, 0))
        return np.ascontiguousarray(np.pad(rgb, pads, mode="edge").transpose(2, 0, 1))

    def forward(self, batch: Sequence[np.ndarray]) -> list[np.ndarray]:
        return [self._tiled(b) for b in batch]

    def _tiled(self, padded: np.ndarray) -> np.ndarray:
        """The up-scaled frame, whole tiles (the caller crops the padding to whole tiles away)."""
        h, w = padded.shape[1] - 2 * TILE_PAD, padded.shape[2] - 2 * TILE_PAD
        out: np.ndarray | None = None
        scale = 0
        for y0, y1, x0, x1 in tiles(h, w):
            window = padded[None, :, y0 : y1 + 2 * TILE_PAD, x0 : x1 + 2 * TILE_PAD]
            up = np.asarray(self.session.run(None, {self.input_name: np.ascontiguousarray(window)})[0])[0]
            if out is None:
                scale = round(up.shape[1] / window.shape[2])
                if scale < 1 or up.shape[1] != window.shape[2] * scale or up.shape[2] != window.shape[3] * scale:
                    raise ValueError(f"unexpected Real-ESRGAN output {up.shape} for a {window.shape} tile")
                out = np.empty((3, h * scale, w * scale), np.float32)
            p = TILE_PAD * scale
            out[:, y0 * scale : y1 * scale, x0 * scale : x1 * scale] = up[:, p : up.shape[1] - p, p : up.shape[2] - p]
        assert out is not None
        return out

    def postprocess(self, raw: np.ndarray, item: np.ndarray, pre: np.ndarray) -> np.ndarray:
        h, w = np.asarray(item).shape[:2]
        scale = raw.shape[1] // (pre.shape[1] - 2 * TILE_PAD)
        out = np.clip(raw[:, : h * scale, : w * scale], 0.0, 1.0) * 255.0
        return np.ascontiguousarray(out.transpose(1, 2, 0).round().astype(np.uint8))

    def close(self) -> None:
        self.session = None  # type: ignore[assignment]
