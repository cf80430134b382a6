"""Model Hub services through the official ``eas-prediction==0.36`` PredictClient, signed and with a plain token
(custom_url), on real media with known truth (tests/media/labels.json), plus every input error."""

from __future__ import annotations

import base64
import io
import json
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import LABELS, MEDIA, require_eas_client
from tests.e2e.eas_client import EasClient
from tests.support import LiveServer, ensure_models, live_server, media_server

require_eas_client()  # the client is not imported here: see eas_client.py

OFFLINE = (
    "image_classification",
    "object_detection",
    "ocr",
    "foreground_segmentation",
    "scene_classification",
    "inventory_counting",
    "image_similarity",
    "face_similarity",
    "face_attributes",
    "product_comparison",
    "text_vectorization",
)
MODELS = ("mobilenet-v2", "nanodet", "ppocr-v5", "mediapipe-selfie-segmentation", "e5-small-q4", "dlib-face")
MODELS += ("age-gender", "fer-emotion")
IMAGE_LIMIT = 2_000_000  # the golden eagle (2.27 MB) is over it


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    ensure_models(*MODELS)
    srv = live_server(
        tmp_path_factory.mktemp("modelhub"),
        allow_private_urls="true",
        image_max_bytes=str(IMAGE_LIMIT),
        credential_cache_s="1",
    )
    tokens = srv.deploy(*OFFLINE)
    srv.start()
    yield srv, tokens
    srv.stop()


@pytest.fixture(params=["signed", "plain"])
def call(request: pytest.FixtureRequest, hub, eas: EasClient):
    """predict(service, body) -> (status, answer), by the client's signature or its custom_url plain token."""
    _, tokens = hub

    def predict(service: str, body, *, token: str | None = None, **kw) -> tuple[int, dict]:
        tok = token if token is not None else tokens.get(service, "x")
        return eas.predict(service, tok, body, plain=request.param == "plain", **kw)

    return predict


def b64(name: str) -> str:
    return base64.b64encode((MEDIA / "image" / name).read_bytes()).decode()


def ok(answer: tuple[int, dict]) -> dict:
    status, body = answer
    assert status == 200, body
    assert body["success"] is True and len(body["request_id"]) == 36
    return body


def failed(answer: tuple[int, dict], status: int, words: str) -> None:
    got, body = answer
    assert got == status, body
    assert body["success"] is False and body["error_code"] == status and words in body["error_msg"], body
    assert len(body["request_id"]) == 36


def _size(name: str) -> tuple[int, int]:
    meta = LABELS[f"image/{name}"]["meta"]
    return meta["width"], meta["height"]


# --- the services --------------------------------------------------------------------------------------------------
def test_image_classification(call) -> None:
    body = ok(call("image_classification", {"image": b64("skimage_cat_chelsea.png")}))
    assert "cat" in body["class_name"] and isinstance(body["class"], int)
    assert len(body["class_probs"]) == 1000 and abs(sum(body["class_probs"].values()) - 1) < 1e-3
    assert body["class_probs"][body["class_name"]] == max(body["class_probs"].values())


def test_object_detection_boxes_are_top_left_bottom_right(call) -> None:
    body = ok(call("object_detection", {"image": b64("skimage_motorcycle.png")}))
    assert "motorcycle" in body["detection_class_names"]
    assert body["detection_classe_names"] == body["detection_class_names"]  # the seed's example spelling too
    w, h = _size("skimage_motorcycle.png")
    i = body["detection_class_names"].index("motorcycle")
    top, left, bottom, right = body["detection_boxes"][i]
    assert 0 <= top < bottom <= h and 0 <= left < right <= w and right - left > w / 2  # it fills the frame
    assert body["detection_classes"][i] == 4 and 0 < body["detection_scores"][i] <= 1  # COCO: motorcycle is 4


def test_ocr_reads_the_text_with_keypoints_in_y_x(call) -> None:
    body = ok(call("ocr", {"image": b64("ocr_zh_shop_sign_crop.jpg")}))
    assert "".join(body["detection_texts"]) == LABELS["image/ocr_zh_shop_sign_crop.jpg"]["truth"]["text"]
    for box, points, text, ids in zip(
        body["detection_boxes"],
        body["detection_keypoints"],
        body["detection_texts"],
        body["detection_texts_ids"],
        strict=True,
    ):
        ys, xs = [p[0] for p in points], [p[1] for p in points]
        assert box == pytest.approx([min(ys), min(xs), max(ys), max(xs)])
        assert len(ids) == len(text) and all(i > 0 for i in ids)
    ja = ok(call("ocr", {"image": b64("ocr_ja_news_list_screenshot.jpg")}))  # PP-OCRv5 reads kana
    read = unicodedata.normalize("NFKC", "".join(ja["detection_texts"])).replace(" ", "")
    for line in LABELS["image/ocr_ja_news_list_screenshot.jpg"]["truth"]["text_lines"][:3]:
        assert unicodedata.normalize("NFKC", line).replace(" ", "") in read, line  # （ ) and ( alike
    page = ok(call("ocr", {"image": b64("ocr_en_scanned_page.png")}))
    assert page["detection_texts"][0] == "Region-based segmentation"
    assert len(page["detection_texts_scores"]) == len(page["detection_boxes"]) == len(page["detection_scores"])


def test_foreground_segmentation_by_url_and_by_image(call) -> None:

    with media_server(MEDIA / "image") as base:
        body = ok(call("foreground_segmentation", {"input": {"url": f"{base}/face_rose_leslie_a.jpg"}}))
    w, h = _size("face_rose_leslie_a.jpg")
    assert isinstance(body["human_ratio"], str) and 0.1 < float(body["human_ratio"]) < 0.9
    assert len(body["mask"]) == h and len(body["mask"][0]) == w and {v for row in body["mask"] for v in row} == {0, 1}
    moon = ok(call("foreground_segmentation", {"image": b64("skimage_moon.png")}))
    assert float(moon["human_ratio"]) < 0.05  # no person on the moon


def test_scene_classification_answers_the_top_five(call) -> None:
    body = ok(call("scene_classification", {"image": b64("skimage_motorcycle.png")}))
    assert len(body["class"]) == len(body["class_name"]) == 5
    probs = body["class_probs"]
    assert [probs[n] for n in body["class_name"]] == sorted((probs[n] for n in body["class_name"]), reverse=True)
    assert abs(sum(probs.values()) - 1) < 1e-3


def test_inventory_counting_counts_bottles(call, tmp_path: Path) -> None:
    import av

    with av.open(str(MEDIA / "video" / "intel_bottles.mp4")) as container:
        frame = next(container.decode(video=0)).to_image()
    buf = io.BytesIO()
    frame.save(buf, "JPEG", quality=92)
    body = ok(call("inventory_counting", {"image": base64.b64encode(buf.getvalue()).decode()}))
    truth = LABELS["video/intel_bottles.mp4"]["truth"]  # objects ["bottle"]; "(1-3 visible in sampled frames)"
    low, high = map(int, re.search(r"(\d+)-(\d+) visible", truth["description"]).groups())
    assert set(body["product_count"]) == set(truth["objects"]), body["product_count"]
    assert low <= body["product_count"]["bottle"] <= high, (body["product_count"], truth["description"])
    assert body["ori_img_shape"] == [frame.height, frame.width]
    assert sum(body["product_count"].values()) == len(body["detection_boxes"])
    empty = ok(call("inventory_counting", {"image": b64("skimage_cat_chelsea.png")}))
    assert empty["product_count"] == {} and empty["detection_boxes"] == []


def test_image_similarity(call) -> None:
    same = ok(
        call("image_similarity", {"imagea": b64("skimage_cat_chelsea.png"), "imageb": b64("skimage_cat_chelsea.png")})
    )
    assert same["similarity"] == pytest.approx(100, abs=0.01) and same["l2_distance"] == pytest.approx(0, abs=1e-3)
    other = ok(
        call("image_similarity", {"imagea": b64("skimage_cat_chelsea.png"), "imageb": b64("skimage_motorcycle.png")})
    )
    assert other["similarity"] < 80 and other["l2_distance"] > 0.5


SAME = [
    ("face_kit_harington_a.jpeg", "face_kit_harington_b.jpeg"),
    ("face_rose_leslie_a.jpg", "face_rose_leslie_b.jpg"),
]
SAME += [("face_alex_lacamoire_a.jpg", "face_alex_lacamoire_b.jpg")]
DIFFERENT = [
    ("face_kit_harington_a.jpeg", "face_rose_leslie_a.jpg"),
    ("face_alex_lacamoire_a.jpg", "face_rose_leslie_b.jpg"),
]


def test_face_similarity_same_and_different_people(call) -> None:
    for a, b in SAME:
        body = ok(call("face_similarity", {"imagea": b64(a), "imageb": b64(b)}))
        assert isinstance(body["similarity"], int) and body["similarity"] >= 80, (a, b, body)
    for a, b in DIFFERENT:
        body = ok(call("face_similarity", {"imagea": b64(a), "imageb": b64(b)}))
        assert body["similarity"] < 80, (a, b, body)


def test_face_similarity_refuses_an_image_with_two_faces_or_none(call) -> None:
    two = {"imagea": b64("face_kit_harington_a.jpeg"), "imageb": b64("face_rose_leslie_kit_harington.jpg")}
    failed(call("face_similarity", two), 422, "imageb must hold exactly one face; found 2")
    none = {"imagea": b64("skimage_moon.png"), "imageb": b64("face_kit_harington_a.jpeg")}
    failed(call("face_similarity", none), 422, "imagea must hold exactly one face; found 0")


def test_face_attributes_of_two_people(call) -> None:
    body = ok(call("face_attributes", {"image": b64("face_rose_leslie_kit_harington.jpg")}))
    assert len(body["face_age"]) == len(body["face_gender"]) == len(body["face_emo"]) == len(body["face_bbox"]) == 2
    by_x = sorted(zip(body["face_bbox"], body["face_gender"], body["face_age"], strict=True), key=lambda f: f[0][0])
    assert [g for _, g, _ in by_x] == ["female", "male"]  # Rose Leslie left, Kit Harington right
    assert all(15 < age < 60 for _, _, age in by_x)
    assert all(len(box) == 5 and box[0] < box[2] and box[1] < box[3] and 0.5 < box[4] <= 1 for box, _, _ in by_x)
    assert set(body["face_emo"]) <= {"Anger", "Disgust", "Fear", "Happiness", "Sadness", "Surprise", "Neutral"}
    grey = ok(call("face_attributes", {"image": b64("skimage_cameraman.png")}))  # half-turned: HOG misses it
    assert len(grey["face_bbox"]) == LABELS["image/skimage_cameraman.png"]["truth"]["faces"] == 1


def test_product_comparison_by_l2_and_cosine(call) -> None:
    def match(a: str, b: str, metric: str) -> tuple[int, dict]:
        params = {"imagea": b64(a), "imageb": b64(b), "metric": metric}
        return call("product_comparison", {"function_name": "match", "function_params": params})

    same = ok(match("skimage_cat_chelsea.png", "skimage_cat_chelsea.png", "L2"))
    assert same["l2_distance"] == pytest.approx(0, abs=1e-3) and "cosine_similarity" not in same
    cos = ok(match("skimage_cat_chelsea.png", "skimage_motorcycle.png", "Cosine"))
    assert 0 <= cos["cosine_similarity"] < 0.8 and "l2_distance" not in cos
    failed(match("skimage_cat_chelsea.png", "skimage_cat_chelsea.png", "Hamming"), 400, "metric")
    failed(call("product_comparison", {"function_name": "search", "function_params": {}}), 400, "function_name")


def test_text_vectorization_of_a_chinese_sentence(call) -> None:
    req = {
        "id": "1667",
        "first_sequence": "蚂蚁花呗在双十一可以提额吗？",
        "second_sequence": "",
        "sequence_length": 128,
    }
    body = ok(call("text_vectorization", req))
    assert body["id"] == "1667"
    vec = [float(v) for v in body["pool_output"].split(",")]
    assert len(vec) == 384 and abs(sum(v * v for v in vec) - 1) < 1e-3
    # multilingual-e5-small's own hidden states: <s>, "query:" (2 pieces), the sentence's pieces, </s>
    rows = [[float(v) for v in row.split(",")] for row in body["all_hidden_outputs"].split(";")]
    assert 8 <= len(rows) <= 2 + 2 + len(req["first_sequence"]) and all(len(r) == 384 for r in rows)
    assert body["first_token_output"].split(",") == body["all_hidden_outputs"].split(";")[0].split(",")
    mean = [sum(col) / len(rows) for col in zip(*rows, strict=True)]
    norm = sum(m * m for m in mean) ** 0.5
    assert [m / norm for m in mean] == pytest.approx(vec, abs=1e-5)  # pool = e5's sentence vector
    cut = ok(call("text_vectorization", req | {"sequence_length": 6}))
    assert len(cut["all_hidden_outputs"].split(";")) == 6
    pair = ok(call("text_vectorization", req | {"second_sequence": "可以"}))
    assert len(pair["all_hidden_outputs"].split(";")) > len(rows) + 2  # </s></s> second </s>
    near = ok(call("text_vectorization", req | {"first_sequence": "双十一的时候花呗额度能提高吗"}))
    far = ok(call("text_vectorization", req | {"first_sequence": "The basketball game ended in overtime."}))
    dot = [sum(a * float(b) for a, b in zip(vec, o["pool_output"].split(","), strict=True)) for o in (near, far)]
    assert dot[0] > dot[1]
    failed(call("text_vectorization", req | {"sequence_length": 513}), 400, "sequence_length")
    failed(call("text_vectorization", {"id": "1"}), 400, "first_sequence is missing")


# --- errors --------------------------------------------------------------------------------------------------------
def test_input_errors_are_4xx_with_the_seed_fields(call) -> None:
    failed(call("ocr", {"img": b64("ocr_zh_line_crop.jpg")}), 400, "image is missing")
    failed(call("ocr", {"image": "@@not base64@@"}), 400, "image is not valid base64")
    failed(call("ocr", {"image": base64.b64encode(b"%PDF-1.4 not an image").decode()}), 400, "could not be decoded")
    failed(call("ocr", "{not json"), 400, "not valid JSON")
    failed(call("image_similarity", {"imagea": b64("skimage_moon.png")}), 400, "imageb is missing")
    failed(call("ocr", {"image": b64("skimage_golden_eagle.png")}), 413, f"limit of {IMAGE_LIMIT} bytes")
    failed(call("ocr", {"image": "A" * 6_000_000}), 413, "request body is larger than the limit")


def test_wrong_token_and_unknown_service(call) -> None:
    failed(call("ocr", {"image": b64("ocr_zh_line_crop.jpg")}, token="not-the-token=="), 401, "unauthorized")
    failed(call("ocr", {"image": b64("ocr_zh_line_crop.jpg")}, token=""), 401, "unauthorized")
    failed(call("no_such_service", {"image": "x"}), 404, "not found")


def test_a_client_far_from_utc_still_signs_valid_requests(hub, eas: EasClient) -> None:
    _, tokens = hub
    for tz in ("Asia/Shanghai", "Pacific/Honolulu"):  # local time labelled GMT: +8 h and -10 h
        ok(eas.predict("ocr", tokens["ocr"], {"image": b64("ocr_zh_line_crop.jpg")}, tz=tz))


def test_services_survive_a_restart_and_tokens_rotate(hub, eas: EasClient) -> None:
    srv, tokens = hub
    listed = {s["name"]: s for s in json.loads(srv.cli("services", "list", "--json"))}
    assert set(listed) == set(OFFLINE) and all(s["deployed"] for s in listed.values())
    assert "NOT the seed's 171 SKU classes" in listed["inventory_counting"]["description"]
    srv.stop()
    srv.start()
    ok(eas.predict("ocr", tokens["ocr"], {"image": b64("ocr_zh_line_crop.jpg")}))
    new = json.loads(srv.cli("services", "token", "ocr", "--rotate", "--json"))["token"]
    try:
        import time

        time.sleep(1.2)  # the server caches a service for up to credential_cache_s (1 s here)
        failed(eas.predict("ocr", tokens["ocr"], {"image": b64("ocr_zh_line_crop.jpg")}), 401, "unauthorized")
        ok(eas.predict("ocr", new, {"image": b64("ocr_zh_line_crop.jpg")}, plain=True))
    finally:
        tokens["ocr"] = new


def test_hub_models_say_which_pull_they_need(hub) -> None:
    srv, _ = hub
    import subprocess

    hub = {
        "instance_segmentation": "yolov8n-seg",
        "semantic_segmentation": "deeplabv3-mobilevit-voc",
        "image_colorization": "ddcolor-tiny",
        "face_enhancement": "gfpgan-v1.4",
        "video_classification": "videomae-base-ucf101",  # no offline tier (bench/video_classification_offline.py)
    }
    from medialens.core import ModelNotFound
    from medialens.core.services import deploy
    from medialens.store.db import Database

    model, weights = next(iter(hub.items()))  # the CLI once (its exit status and words), the core for the rest
    with pytest.raises(subprocess.CalledProcessError) as err:
        srv.cli("services", "deploy", model)
    said = " ".join(err.value.stdout.split())  # rich wraps long lines
    assert "not deployed" in said and f"medialens models pull {weights}" in said
    settings = srv.settings()
    db = Database(settings.resolved_database_url)
    try:
        for model, weights in hub.items():
            with pytest.raises(ModelNotFound) as refused:
                deploy(db, settings, model)
            assert "not deployed" in refused.value.message, refused.value.message
            assert f"medialens models pull {weights}" in refused.value.message, refused.value.message
    finally:
        db.dispose()
