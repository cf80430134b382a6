"""Zero-shot attribute groups with CLIP (``clip-vit-b32``, a hub model): used when it is installed.

Every group is CLIP's softmax over prompts (``CLIP_PROMPTS``) on a head-and-shoulders crop of the face.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image

from medialens.analyses.face_attributes.labels import BANGS_TYPES, CLIP_MODEL, CURLY_TYPES, FACE_SHAPES, MALE_STYLES
from medialens.config import Settings
from medialens.models import installed
from medialens.models.loader import get_pipeline

CLIP_PROMPTS: dict[str, tuple[str, Sequence[str]]] = {
    "shape": ("a photo of a person with a {} face shape", [s.lower() for s in FACE_SHAPES]),
    "color": (
        "a photo of a person with {}",
        [
            "unusually coloured hair",
            "coffee brown hair",
            "silver gray hair",
            "chestnut hair",
            "brown hair",
            "gradient ombre dyed hair",
            "wine red hair",
            "golden blonde hair",
            "yellow hair",
            "black hair",
        ],
    ),
    "bangs": ("a photo of a woman with {}", [b.lower() for b in BANGS_TYPES]),
    "curly": ("a photo of a woman with {} hair", [c.lower() for c in CURLY_TYPES]),
    "type": ("a photo of a woman with {}", ["curly hair", "an updo hairstyle", "straight hair"]),
    "length": ("a photo of a woman with {}", ["medium length hair", "short hair", "long hair"]),
    "tied": ("a photo of a woman with {}", ["tied hair", "loose hair"]),
    "braided": ("a photo of a woman with {}", ["braided hair", "unbraided hair"]),
    "male": ("a photo of a man with a {} haircut", [m.lower() for m in MALE_STYLES]),
}


def clip_group_probs(head: np.ndarray, settings: Settings) -> dict[str, Any]:
    clip = get_pipeline(CLIP_MODEL, settings)
    emb = clip.embed_image(Image.fromarray(head))
    out: dict[str, Any] = {}
    for key, (template, labels) in CLIP_PROMPTS.items():
        probs = np.asarray(clip.zero_shot(emb, clip.embed_text([template.format(x) for x in labels])), np.float64)
        out[key] = float(probs[0] / probs.sum()) if key in ("tied", "braided") else probs
    return out


def clip_installed(settings: Settings) -> bool:
    try:
        return installed.installed(CLIP_MODEL, settings)
    except Exception:  # an unknown or broken registry entry means: not available
        return False


def head_crop(image: np.ndarray, box: Sequence[float]) -> np.ndarray:
    """The head and shoulders around a face box: 1 face height above, 1.5 below, 1 face width either side."""
    h, w = image.shape[:2]
    x0, y0, x1, y1 = box
    fw, fh = x1 - x0, y1 - y0
    cx0, cy0 = max(0, int(x0 - fw)), max(0, int(y0 - fh))
    cx1, cy1 = min(w, int(x1 + fw)), min(h, int(y1 + 1.5 * fh))
    return image[cy0:cy1, cx0:cx1]
