"""Places365 ResNet18 scene classifier over the loopback hub mirror."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper

from medialens.models.installed import pull
from medialens.models.pipelines import pipeline_class
from medialens.models.pipelines.places import read_categories
from medialens.models.registry import get_spec
from tests.unit.hub.conftest import init, media_image, model_bytes, serve

CATEGORIES = ["/a/airfield 0", "/a/apartment_building/outdoor 1", "/b/beach 2", "/k/kitchen 3", "/z/zen_garden 4"]
LOGITS = [0.5, 1.0, 3.0, 2.0, -1.0]


def resnet_like() -> bytes:
    """input [N,3,224,224] -> Conv -> GlobalAveragePool -> Flatten -> MatMul(0) + planted logits."""
    nodes = [
        helper.make_node("Conv", ["input", "w"], ["c"], kernel_shape=[7, 7], strides=[32, 32]),
        helper.make_node("GlobalAveragePool", ["c"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"]),
        helper.make_node("Gemm", ["f", "fc_w", "fc_b"], ["output"]),
    ]
    k = len(CATEGORIES)
    inits = [
        init("w", np.full((4, 3, 7, 7), 0.01, np.float32)),
        init("fc_w", np.zeros((4, k), np.float32)),
        init("fc_b", np.array(LOGITS, np.float32)),
    ]
    ins = [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 224, 224])]
    outs = [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", k])]
    return model_bytes(nodes, ins, outs, inits)


def test_places365_top_k(mirror, settings, tmp_path) -> None:
    spec = get_spec("places365-resnet18")
    cats = ("\n".join(CATEGORIES) + "\n").encode()
    serve(mirror, spec, {"resnet18_places365.onnx": resnet_like(), "categories_places365.txt": cats})
    path = pull(spec.name, settings=settings)
    assert read_categories(path / "categories_places365.txt")[:2] == ["airfield", "apartment_building/outdoor"]

    pipe = pipeline_class(spec.name)(path, settings)
    image = media_image()
    pre = pipe.preprocess(image)
    assert pre.shape == (3, 224, 224) and pre.dtype == np.float32
    assert -2.2 < pre.min() < 0 < pre.max() < 2.7  # ImageNet-normalised
    res = pipe(image)
    assert [n for n, _ in res.top] == ["beach", "kitchen", "apartment_building/outdoor", "airfield", "zen_garden"]
    assert res.probs.sum() == pytest.approx(1.0, abs=1e-5)
    expected = np.exp(LOGITS) / np.exp(LOGITS).sum()
    assert res.top[0][1] == pytest.approx(expected[2], abs=1e-5)
    assert [r.top[0][0] for r in pipe.run_batch([image, image.rotate(90, expand=True)])] == ["beach", "beach"]


def test_places365_rejects_mismatched_categories(mirror, settings) -> None:
    spec = get_spec("places365-resnet18")
    serve(mirror, spec, {"resnet18_places365.onnx": resnet_like(), "categories_places365.txt": b"/a/airfield 0\n"})
    with pytest.raises(ValueError, match="categories"):
        pipeline_class(spec.name)(pull(spec.name, settings=settings), settings)
