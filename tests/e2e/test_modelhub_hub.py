"""The hub-model Model Hub services through the official client: tiny models in each hub repo's layout, pulled
from a loopback Hugging Face mirror into a model folder of their own, served by a live server, called with
``eas-prediction``'s PredictClient signed and with a plain token."""

from __future__ import annotations

import base64
import io
import json
import os
from collections.abc import Iterator

import numpy as np
import pytest
from PIL import Image

from tests.conftest import MEDIA, require_eas_client
from tests.e2e.eas_client import EasClient
from tests.support import LiveServer, ensure_models, live_server

require_eas_client()  # the client is not imported here: see eas_client.py

HUB = ("semantic_segmentation", "instance_segmentation", "image_colorization", "face_enhancement")


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    from medialens.config import Settings
    from medialens.models.installed import pull
    from medialens.models.registry import get_spec
    from tests.unit.hub.conftest import serve, unpinned
    from tests.unit.hub.test_modelhub_services import (
        VOCAB,
        _const_image_model,
        bert_graph,
        deeplab_graph,
    )
    from tests.unit.hub.test_places import CATEGORIES, legacy_checkpoint, resnet18_state, serve_places
    from tests.unit.hub.test_yolo import constant_graph, planted
    from tests.unit.models.conftest import Mirror

    root = tmp_path_factory.mktemp("hubmodels")
    models = root / "models"
    models.mkdir()
    for name in ("dlib-face", "e5-small-q4", "mobilenet-v2"):  # offline models the services also use
        (models / name).symlink_to(ensure_models(name) / name)
    mirror, mp = Mirror(), pytest.MonkeyPatch()
    try:
        mp.setenv("HF_ENDPOINT", mirror.base + "/hf")
        mp.setenv("HF_HOME", str(root / "hf"))
        for var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE"):
            mp.delenv(var, raising=False)
        settings = Settings(model_dir=models)
        protos = np.zeros((1, 32, 160, 160), np.float32)
        protos[0, 0], protos[0, 1] = 20.0, -20.0
        files = {
            "deeplabv3-mobilevit-voc": {"model.onnx": deeplab_graph()},
            "yolov8n-seg": {"yolov8n-seg.onnx": constant_graph({"output0": planted(nm=32), "output1": protos})},
            "ddcolor-tiny": {"ddcolor_tiny_512_int8.onnx": _const_image_model("input", 2, [40.0, 20.0])},
            "gfpgan-v1.4": {"GFPGANv1.4.onnx": _const_image_model("input", 3, [-1.0, -1.0, -1.0])},
            "bge-base-zh": {"model.onnx": bert_graph(len(VOCAB)), "vocab.txt": "\n".join(VOCAB).encode()},
        }
        for name, content in files.items():
            serve(mirror, unpinned(get_spec(name), mp), content)  # tiny models cannot match real pins
            pull(name, settings=settings)
        # CSAIL's Places365 checkpoint layout, converted to ONNX by the pull; the tiny model is sure of "kitchen"
        state = resnet18_state()
        state["fc.weight"] *= 0.01
        state["fc.bias"][:] = [0.0, 0.0, 0.0, 6.0, 0.0]
        cats = ("\n".join(CATEGORIES) + "\n").encode()
        pull(serve_places(mirror, mp, legacy_checkpoint(state), cats), settings=settings)
    finally:
        mp.undo()
        mirror.close()
    srv = live_server(root / "server")
    srv.env["MEDIALENS_MODEL_DIR"] = str(models)
    deploy = (*HUB, "text_vectorization", "scene_classification")
    tokens = srv.deploy(*deploy)
    srv.start()
    yield srv, tokens
    srv.stop()


@pytest.fixture(params=["signed", "plain"])
def call(request: pytest.FixtureRequest, hub, eas: EasClient):
    _, tokens = hub

    def predict(service: str, body: dict) -> dict:
        status, answer = eas.predict(service, tokens[service], body, plain=request.param == "plain")
        assert status == 200 and answer["success"] is True, answer
        return answer

    return predict


def _b64(image: Image.Image) -> str:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return base64.b64encode(buf.getvalue()).decode()


def _photo(name: str) -> Image.Image:
    with Image.open(MEDIA / "image" / name) as img:
        return img.convert("RGB")


def _decode(b64: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(b64))).convert("RGB")).astype(np.int32)


def test_the_hub_services_are_listed_as_deployed(hub) -> None:
    srv, _ = hub
    listed = {s["name"]: s for s in json.loads(srv.cli("services", "list", "--json"))}
    assert all(listed[m]["deployed"] for m in HUB)
    assert "HF_ENDPOINT" not in os.environ or "127.0.0.1" not in os.environ["HF_ENDPOINT"]  # the mirror's env undone


def test_scene_classification_with_places365(hub, call) -> None:
    body = call("scene_classification", {"image": _b64(_photo("skimage_cat_chelsea.png"))})
    assert body["class_name"][0] == "kitchen" and body["class"][0] == 3
    assert len(body["class_name"]) == 5 and set(body["class_probs"]) == {
        "airfield",
        "apartment_building/outdoor",
        "beach",
        "kitchen",
        "zen_garden",
    }
    assert body["class_probs"]["kitchen"] > 0.9
    listed = {s["name"]: s for s in json.loads(hub[0].cli("services", "list", "--json"))}
    assert "CSAIL's Places365 ResNet-18" in listed["scene_classification"]["description"]


def test_semantic_segmentation(call) -> None:
    image = Image.new("RGB", (451, 300), (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, 200, 300))  # the tiny model: red is "cat" (8), blue background
    body = call("semantic_segmentation", {"image": _b64(image)})
    preds = np.array(body["preds"])
    assert preds.shape == (300, 451) and preds[150, 50] == 8 and preds[150, 400] == 0
    assert np.array(body["probs"]).shape == (300, 451)


def test_instance_segmentation_rle(call) -> None:
    from medialens.analyses.model_hub import rle_decode

    body = call("instance_segmentation", {"image": _b64(_photo("skimage_cat_chelsea.png"))})
    assert body["detection_class_names"] == ["cat", "dog", "person"]
    cat = body["detection_masks"][0]
    assert cat["size"] == [300, 451] and rle_decode(cat["counts"], 300, 451)[150, 200]


def test_image_colorization(call) -> None:
    grey = _photo("skimage_cameraman.png")
    out = _decode(call("image_colorization", {"image": _b64(grey)})["out_image"])
    assert out.shape == (512, 512, 3) and out[:, :, 0].mean() > out[:, :, 1].mean() + 10  # reddish


def test_face_enhancement(call) -> None:
    face = _photo("face_kit_harington_a.jpeg")
    out = _decode(call("face_enhancement", {"image": _b64(face)})["out_image"])
    assert out.shape == np.asarray(face).shape
    assert np.abs(out[:10, :10] - np.asarray(face).astype(np.int32)[:10, :10]).mean() < 6
    assert out.mean() < np.asarray(face).mean() - 3  # the (black, tiny-model) face is blended in


def test_text_vectorization_with_bert(call) -> None:
    body = call("text_vectorization", {"id": "1", "first_sequence": "我爱北京", "sequence_length": 16})
    rows = body["all_hidden_outputs"].split(";")
    assert len(rows) == 6 and body["first_token_output"] == rows[0]
