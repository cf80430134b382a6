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


def _const_image_model(in_name: str, out_channels: int, values: list[float]) -> bytes:
    """[1,3,512,512] -> a 1x1 conv with zero weights and ``values`` as biases -> [1, out_channels, 512, 512]."""
    nodes = [helper.make_node("Conv", [in_name, "w", "b"], ["out"], kernel_shape=[1, 1])]
    inits = [init("w", np.zeros((out_channels, 3, 1, 1), np.float32)), init("b", np.array(values, np.float32))]
    ins = [helper.make_tensor_value_info(in_name, TensorProto.FLOAT, [1, 3, 512, 512])]
    outs = [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, out_channels, 512, 512])]
    return model_bytes(nodes, ins, outs, inits)


def _decode(b64: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(b64))).convert("RGB")).astype(np.int32)


def test_image_colorization_keeps_the_lightness(
    mirror, settings: Settings, api: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ModelNotFound, match="medialens models pull ddcolor-tiny"):
        api.app.state.core.deploy_service("image_colorization")
    spec = unpinned(get_spec("ddcolor-tiny"), monkeypatch)
    serve(mirror, spec, {"ddcolor_tiny_512_int8.onnx": _const_image_model("input", 2, [40.0, 20.0])})
    pull("ddcolor-tiny", settings=settings)

    grey = media_image("skimage_cameraman.png")  # a grey photo: the model predicts a = 40, b = 20 everywhere
    body = _predict(api, "image_colorization", {"image": _b64(grey)})
    out, src = _decode(body["out_image"]), np.asarray(grey).astype(np.int32)
    assert out.shape == src.shape
    mid = (src.mean(axis=2) > 80) & (src.mean(axis=2) < 180)  # mid-tones: no clipping
    r, g, b = (out[:, :, i][mid].mean() for i in range(3))
    assert r > g + 20 and r > b  # a > 0, b > 0: warm, reddish
    lum = lambda a: 0.299 * a[:, :, 0] + 0.587 * a[:, :, 1] + 0.114 * a[:, :, 2]  # noqa: E731
    assert abs(lum(out)[mid].mean() - lum(src)[mid].mean()) < 12  # the lightness is the photo's


def test_face_enhancement_restores_only_the_face(
    mirror, settings: Settings, api: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ModelNotFound, match=r"medialens models pull gfpgan-v1\.4"):
        api.app.state.core.deploy_service("face_enhancement")
    from tests.support import ensure_models

    for name in ("dlib-face",):  # the face finder is offline; link the installed one into this model dir
        (settings.model_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (settings.model_dir / name).symlink_to(ensure_models(name) / name)
    spec = unpinned(get_spec("gfpgan-v1.4"), monkeypatch)
    serve(mirror, spec, {"GFPGANv1.4.onnx": _const_image_model("input", 3, [-1.0, -1.0, -1.0])})  # all black
    pull("gfpgan-v1.4", settings=settings)

    face = media_image("face_kit_harington_a.jpeg")
    body = _predict(api, "face_enhancement", {"image": _b64(face)})
    out, src = _decode(body["out_image"]), np.asarray(face).astype(np.int32)
    assert out.shape == src.shape
    from medialens.models.loader import get_pipeline

    (found,) = get_pipeline("dlib-face", Settings(model_dir=settings.model_dir))(np.asarray(face))
    x1, y1, x2, y2 = (int(v) for v in found.bbox)
    centre = out[(y1 + y2) // 2 - 5 : (y1 + y2) // 2 + 5, (x1 + x2) // 2 - 5 : (x1 + x2) // 2 + 5]
    assert centre.mean() < 25  # the (black) restored face is blended in
    assert np.abs(out[:10, :10] - src[:10, :10]).mean() < 6  # the rest of the photo is kept (JPEG noise aside)


VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "我", "爱", "北", "京", "hello", "hel", "##lo", "!", ","]


def test_wordpiece_tokenizes_as_bert_does() -> None:
    from medialens.models.pipelines.bert import WordPiece

    tok = WordPiece(VOCAB)
    assert tok.words("我爱北京 Hello,world!") == ["我", "爱", "北", "京", "hello", ",", "world", "!"]
    assert tok.encode("我爱北京 Hello!") == [5, 6, 7, 8, 9, 12]
    assert tok.encode("Hello,hellolo helo") == [9, 13, 9, 11, 1]  # hello ##lo; "helo" = hel + "o": [UNK]
    assert tok.encode("上海") == [1, 1]  # unknown characters
    ids, types = tok.pair("我爱", "北京", 512)
    assert ids == [2, 5, 6, 3, 7, 8, 3] and types == [0, 0, 0, 0, 1, 1, 1]
    ids, types = tok.pair("我爱北京", "hello", 6)  # cut to 6, longest first
    assert ids == [2, 5, 6, 3, 9, 3] and types == [0, 0, 0, 0, 1, 1]


def bert_graph(vocab: int, dim: int = 8) -> bytes:
    """input_ids, attention_mask, token_type_ids [N,L] -> an embedding lookup -> last_hidden_state [N,L,dim]."""
    table = np.random.default_rng(3).normal(size=(vocab, dim)).astype(np.float32)
    nodes = [helper.make_node("Gather", ["table", "input_ids"], ["emb"])]
    last = "emb"
    for extra in ("attention_mask", "token_type_ids"):
        nodes += [
            helper.make_node("Cast", [extra], [f"{extra}_f"], to=TensorProto.FLOAT),
            helper.make_node("ReduceSum", [f"{extra}_f"], [f"{extra}_s"], keepdims=0),
            helper.make_node("Mul", [f"{extra}_s", "zero"], [f"{extra}_z"]),
            helper.make_node("Add", [last, f"{extra}_z"], [f"{last}_{extra}"]),
        ]
        last = f"{last}_{extra}"
    nodes.append(helper.make_node("Identity", [last], ["last_hidden_state"]))
    ins = [helper.make_tensor_value_info(n, TensorProto.INT64, ["N", "L"]) for n in ("input_ids", "attention_mask")]
    ins.append(helper.make_tensor_value_info("token_type_ids", TensorProto.INT64, ["N", "L"]))
    outs = [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["N", "L", dim])]
    return model_bytes(nodes, ins, outs, [init("table", table), init("zero", np.array(0.0, np.float32))])


def test_text_vectorization_gives_bert_hidden_states_once_pulled(mirror, settings: Settings, api: TestClient) -> None:
    from tests.support import ensure_models

    (settings.model_dir / "e5-small-q4").parent.mkdir(parents=True, exist_ok=True)
    (settings.model_dir / "e5-small-q4").symlink_to(ensure_models("e5-small-q4") / "e5-small-q4")
    req = {"id": "7", "first_sequence": "我爱北京", "second_sequence": "", "sequence_length": 128}
    offline = _predict(api, "text_vectorization", req)
    assert len(offline["pool_output"].split(",")) == 384
    assert all(len(row.split(",")) == 384 for row in offline["all_hidden_outputs"].split(";"))  # e5's own states

    serve(
        mirror, get_spec("bge-base-zh"), {"model.onnx": bert_graph(len(VOCAB)), "vocab.txt": "\n".join(VOCAB).encode()}
    )
    pull("bge-base-zh", settings=settings)
    r = api.post(
        "/api/predict/text_vectorization",
        json=req,
        headers={"Authorization": api.app.state.core.service("text_vectorization").token},
    )
    body = r.json()
    assert r.status_code == 200 and body["id"] == "7", body
    rows = [[float(v) for v in row.split(",")] for row in body["all_hidden_outputs"].split(";")]
    assert len(rows) == 6 and all(len(row) == 8 for row in rows)  # [CLS] 我 爱 北 京 [SEP], 8-d in the tiny model
    first = [float(v) for v in body["first_token_output"].split(",")]
    assert first == pytest.approx(rows[0], abs=1e-6)
    pool = np.array([float(v) for v in body["pool_output"].split(",")])
    assert pool == pytest.approx(np.array(rows[0]) / np.linalg.norm(rows[0]), abs=1e-6)
    assert rows[1] != rows[2]  # each token its own state
