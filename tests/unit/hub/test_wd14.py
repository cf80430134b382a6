"""WD14 taggers (four SmilingWolf v2 repos, one pipeline) over the loopback hub mirror."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper
from PIL import Image

from medialens.models.installed import pull
from medialens.models.pipelines import pipeline_class
from medialens.models.pipelines.wd14 import TAGGER_TYPES, Wd14Tagger
from medialens.models.registry import get_spec
from tests.unit.hub.conftest import init, media_image, model_bytes, serve

# tag_id,name,category,count: 4 ratings, 5 general, 2 characters (the real file has 9083 rows in this format)
TAGS = [
    ("9999999", "general", 9), ("9999998", "sensitive", 9), ("9999997", "questionable", 9),
    ("9999996", "explicit", 9), ("1", "1girl", 0), ("2", "solo", 0), ("3", "long_hair", 0), ("4", "^_^", 0),
    ("5", "outdoors", 0), ("6", "hatsune_miku", 4), ("7", "kirisame_marisa", 4),
]  # fmt: skip
#: planted probabilities (the tiny graph outputs sigmoid(bias), whatever the image)
PROBS = [0.10, 0.70, 0.15, 0.05, 0.95, 0.90, 0.60, 0.40, 0.20, 0.92, 0.50]


def tags_csv() -> bytes:
    rows = ["tag_id,name,category,count"] + [f"{i},{n},{c},{1000 - k}" for k, (i, n, c) in enumerate(TAGS)]
    return ("\n".join(rows) + "\n").encode()


def tagger_onnx() -> bytes:
    """input_1:0 [N,448,448,3] -> ReduceMean(H,W) -> MatMul(0) + logit(PROBS) -> Sigmoid -> predictions_sigmoid."""
    p = np.array(PROBS, np.float32)
    nodes = [
        helper.make_node("ReduceMean", ["input_1:0", "axes"], ["m"], keepdims=0),
        helper.make_node("MatMul", ["m", "w"], ["z"]),
        helper.make_node("Add", ["z", "b"], ["logits"]),
        helper.make_node("Sigmoid", ["logits"], ["predictions_sigmoid"]),
    ]
    inits = [
        init("axes", np.array([1, 2], np.int64)),
        init("w", np.zeros((3, len(TAGS)), np.float32)),
        init("b", np.log(p / (1 - p)).astype(np.float32)),
    ]
    ins = [helper.make_tensor_value_info("input_1:0", TensorProto.FLOAT, ["N", 448, 448, 3])]
    outs = [helper.make_tensor_value_info("predictions_sigmoid", TensorProto.FLOAT, ["N", len(TAGS)])]
    return model_bytes(nodes, ins, outs, inits)


def test_all_four_v2_repos_share_one_pipeline() -> None:
    assert set(TAGGER_TYPES) == {
        "SmilingWolf/wd-v1-4-convnextv2-tagger-v2",
        "SmilingWolf/wd-v1-4-convnext-tagger-v2",
        "SmilingWolf/wd-v1-4-vit-tagger-v2",
        "SmilingWolf/wd-v1-4-swinv2-tagger-v2",
    }
    for repo, name in TAGGER_TYPES.items():
        spec = get_spec(name)
        assert spec.bundle == "hub" and spec.sources[0].repo_id == repo
        assert dict(spec.sources[0].files) == {"model.onnx": "model.onnx", "selected_tags.csv": "selected_tags.csv"}
        assert issubclass(pipeline_class(name), Wd14Tagger)


@pytest.mark.parametrize("name", ["wd14-convnextv2-v2", "wd14-swinv2-v2"])
def test_wd14_tags_caption_and_probs(mirror, settings, name: str) -> None:
    spec = get_spec(name)
    serve(mirror, spec, {"model.onnx": tagger_onnx(), "selected_tags.csv": tags_csv()})
    pipe = pipeline_class(name)(pull(name, settings=settings), settings)

    image = media_image()  # 451 x 300: padded to a white square
    pre = pipe.preprocess(image)
    assert pre.shape == (448, 448, 3) and pre.dtype == np.float32
    assert pre.max() <= 255.0 and pre.max() > 1.0  # 0-255, not 0-1
    assert (pre[0, 0] == 255).all() and (pre[-1, -1] == 255).all()  # white padding above and below
    # BGR: the centre pixel equals the resized RGB image's centre pixel, reversed
    ref = np.asarray(image.resize((448, round(300 * 448 / 451)), Image.Resampling.BICUBIC), np.float32)
    assert np.allclose(pre[224, 224], ref[ref.shape[0] // 2, 224][::-1], atol=12)

    res = pipe.tag(image, threshold=0.5)
    assert res.rating == ("sensitive", pytest.approx(0.70, abs=1e-5))
    assert [n for n, _ in res.general] == ["1girl", "solo", "long hair"]  # file order; underscores -> spaces
    assert [n for n, _ in res.character] == ["hatsune miku"]  # 0.92 > 0.85; 0.50 is not
    assert res.caption == "sensitive, 1girl, solo, long hair, hatsune miku"
    assert len(res.probs) == len(TAGS) and res.probs[4] == pytest.approx(0.95, abs=1e-5)
    assert res.to_dict() == {"caption": res.caption, "probs": res.probs}

    default = pipe(image)  # default threshold 0.35 keeps the kaomoji, underscores intact
    assert "^_^" in [n for n, _ in default.general]
    rgba = Image.new("RGBA", (300, 200), (0, 0, 0, 0))  # transparent -> white, like the reference code
    assert (pipe.preprocess(rgba) == 255).all()
