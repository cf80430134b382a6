"""The Model Hub answer's hand-written JSON pieces: the person mask as the seed's [h][w] list of 0/1."""

from __future__ import annotations

import base64
import json

import numpy as np

from medialens.protocols.modelhub.format import RawJSON, mask_json, render


def test_mask_json_is_the_masks_rows_of_0_and_1() -> None:
    mask = np.random.default_rng(3).random((5, 7)) > 0.5
    bits = base64.b64encode(np.packbits(mask.reshape(-1)).tobytes()).decode()
    text = mask_json(bits, 5, 7)
    assert isinstance(text, RawJSON)
    assert json.loads(text) == mask.astype(int).tolist()
    assert json.loads(render({"success": True, "mask": text})) == {"success": True, "mask": mask.astype(int).tolist()}
    assert mask_json("", 0, 0) == b"[]"
