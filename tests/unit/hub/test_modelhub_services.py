"""The Model Hub's hub-model services: deploying says which pull is needed; once the (tiny) models are pulled from
the loopback mirror, semantic and instance segmentation answer through the endpoint in the seed's shapes."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from onnx import TensorProto, helper
from PIL import Image

from medialens.analyses.model_hub import rle_counts, rle_decode
from medialens.app import create_app
from medialens.config import Settings
from medialens.core import ModelNotFound
from medialens.models.installed import pull
from medialens.models.pipelines import pipeline_class
from medialens.models.registry import get_spec
from tests.unit.hub.conftest import init, media_image, model_bytes, serve, unpinned
from tests.unit.hub.test_yolo import CAT, constant_graph, planted


def test_rle_is_the_seeds_run_lengths() -> None:
    assert rle_counts(np.array([[True, False], [False, True]])) == [0, 1, 2, 1]  # the seed's own example
    assert rle_counts(np.array([False, False, True])) == [2, 1]
    mask = np.random.default_rng(0).random((7, 9)) > 0.5
    assert (rle_decode(rle_counts(mask), 7, 9) == mask).all()
    assert sum(rle_counts(mask)) == 63


def deeplab_graph() -> bytes:
    """pixel_values [1,3,512,512] -> 1x1 conv to 21 classes -> 16x16 average pool -> logits [1,21,32,32].
    Class 8 (cat) follows input channel 2, background follows channel 0: with the BGR input the pipeline feeds,
    red pixels are "cat" and blue ones background."""
    w = np.zeros((21, 3, 1, 1), np.float32)
    w[8, 2], w[0, 0] = 10.0, 10.0
    nodes = [
        helper.make_node("Conv", ["pixel_values", "w"], ["c"], kernel_shape=[1, 1]),
        helper.make_node("AveragePool", ["c"], ["logits"], kernel_shape=[16, 16], strides=[16, 16]),
    ]
    ins = [helper.make_tensor_value_info("pixel_values", TensorProto.FLOAT, [1, 3, 512, 512])]
    outs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 21, 32, 32])]
    return model_bytes(nodes, ins, outs, [init("w", w)])


def _b64(image: Image.Image) -> str:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return base64.b64encode(buf.getvalue()).decode()


@pytest.fixture
def api(settings: Settings, tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(Settings(data_dir=tmp_path / "data", model_dir=settings.model_dir), run_workers=True)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def _predict(client: TestClient, model: str, body: dict) -> dict:
    token = client.app.state.core.deploy_service(model).token
    r = client.post(f"/api/predict/{model}", json=body, headers={"Authorization": token})
    assert r.status_code == 200, r.text
    assert r.json()["success"] is True
    return r.json()


def test_semantic_segmentation(mirror, settings: Settings, api: TestClient) -> None:
    with pytest.raises(ModelNotFound, match="medialens models pull deeplabv3-mobilevit-voc"):
        api.app.state.core.deploy_service("semantic_segmentation")
    serve(mirror, get_spec("deeplabv3-mobilevit-voc"), {"model.onnx": deeplab_graph()})
    pull("deeplabv3-mobilevit-voc", settings=settings)

    image = Image.new("RGB", (451, 300), (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, 200, 300))  # red left part, blue right part
    seg = pipeline_class("deeplabv3-mobilevit-voc")(settings.model_dir / "deeplabv3-mobilevit-voc", settings)(image)
    assert seg.classes.shape == (300, 451) and seg.names[8] == "cat"
    assert seg.classes[150, 50] == 8 and seg.classes[150, 400] == 0

    body = _predict(api, "semantic_segmentation", {"image": _b64(image)})
    preds, probs = np.array(body["preds"]), np.array(body["probs"])
    assert preds.shape == probs.shape == (300, 451)
    assert preds[150, 50] == 8 and preds[150, 400] == 0 and (preds == 8).mean() == pytest.approx(200 / 451, abs=0.03)
    assert 0.99 < probs[150, 50] <= 1 and probs.min() > 0


def test_instance_segmentation(mirror, settings: Settings, api: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ModelNotFound, match="medialens models pull yolov8n-seg"):
        api.app.state.core.deploy_service("instance_segmentation")
    protos = np.zeros((1, 32, 160, 160), np.float32)
    protos[0, 0], protos[0, 1] = 20.0, -20.0  # the cat's mask is its box, the dog's is empty
    spec = unpinned(get_spec("yolov8n-seg"), monkeypatch)  # a tiny model cannot match the real file's pin
    serve(mirror, spec, {"yolov8n-seg.onnx": constant_graph({"output0": planted(nm=32), "output1": protos})})
    pull("yolov8n-seg", settings=settings)

    body = _predict(api, "instance_segmentation", {"image": _b64(media_image())})
    assert body["detection_class_names"] == body["detection_classe_names"] == ["cat", "dog", "person"]
    assert body["detection_classes"] == [16, 17, 1]  # COCO ids, 1-based
    top, left, bottom, right = body["detection_boxes"][0]
    assert [left, top, right, bottom] == pytest.approx(list(CAT), abs=1.0)  # [top, left, bottom, right]
    cat, dog, _ = body["detection_masks"]
    assert cat["size"] == [300, 451] and sum(cat["counts"]) == 300 * 451
    mask = rle_decode(cat["counts"], *cat["size"])
    assert mask[150, 200] and not mask[20, 20] and mask.sum() == pytest.approx(200 * 200, rel=0.06)
    assert dog["counts"] == [300 * 451]  # all background
