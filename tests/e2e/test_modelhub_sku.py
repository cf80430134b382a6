"""Inventory counting with a SKU classifier trained by ``medialens sku train`` on a COCO file built from the bottle
video, served by a live server and called with ``eas-prediction``'s PredictClient: COCO classes before, the SKU
names after training (the server picks up the new model file), COCO classes again after ``medialens sku remove``."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import MEDIA, require_eas_client
from tests.e2e.eas_client import EasClient
from tests.support import LiveServer, ensure_models, live_server

require_eas_client()  # the client is not imported here: see eas_client.py

MODELS = ("mobilenet-v2", "nanodet")


def _frames(n: int) -> list[Image.Image]:
    import av

    out = []
    with av.open(str(MEDIA / "video" / "intel_bottles.mp4")) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i % 30 == 0:
                out.append(frame.to_image())
            if len(out) == n:
                break
    return out


def _coco_dataset(root: Path, frames: list[Image.Image], models: Path) -> Path:
    """Bottle boxes (the detector's, as a labeller would draw them) as SKU 189; boxes on other photos as 772."""
    from medialens.analyses import model_hub
    from medialens.config import Settings

    settings = Settings(model_dir=models)
    images, annotations = [], []

    def add_image(image: Image.Image, name: str) -> int:
        image.save(root / name)
        images.append({"id": len(images) + 1, "file_name": name, "width": image.width, "height": image.height})
        return len(images)

    for k, frame in enumerate(frames):
        image_id = add_image(frame, f"frame{k}.jpg")
        for det in model_hub.retail_objects(frame, settings):
            x1, y1, x2, y2 = det.box
            annotations.append({"image_id": image_id, "bbox": [x1, y1, x2 - x1, y2 - y1], "category_id": 1})
    for name in ("skimage_cat_chelsea.png", "skimage_coins.png", "skimage_motorcycle.png"):
        with Image.open(MEDIA / "image" / name) as img:
            image = img.convert("RGB")
        image_id = add_image(image, name)
        w, h = image.size
        for j in range(4):
            box = [j * w // 8, j * h // 8, w // 3, h // 2]
            annotations.append({"image_id": image_id, "bbox": box, "category_id": 2})
    categories = [{"id": 1, "name": "189"}, {"id": 2, "name": "772"}]
    path = root / "annotations.json"
    path.write_text(json.dumps({"images": images, "annotations": annotations, "categories": categories}))
    assert sum(a["category_id"] == 1 for a in annotations) >= 5
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str, Path]]:
    installed = ensure_models(*MODELS)
    root = tmp_path_factory.mktemp("sku")
    models = root / "models"
    models.mkdir()
    for name in MODELS:
        (models / name).symlink_to(installed / name)
    srv = live_server(root / "server")
    srv.env["MEDIALENS_MODEL_DIR"] = str(models)
    token = json.loads(srv.cli("services", "deploy", "inventory_counting", "--json"))["token"]
    srv.start()
    yield srv, token, models
    srv.stop()


def _b64(image: Image.Image) -> str:
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=92)
    return base64.b64encode(buf.getvalue()).decode()


def test_train_then_the_service_names_skus(server, tmp_path: Path) -> None:
    from medialens.analyses.sku import SKU_CLASSES

    srv, token, models = server
    frames = _frames(8)
    held_out = _b64(frames[0])  # not in the training data
    dataset = tmp_path / "dataset"
    dataset.mkdir()
    coco = _coco_dataset(dataset, frames[1:], models)
    client = EasClient(srv.base_url)
    try:
        for plain in (False, True):
            status, body = client.predict("inventory_counting", token, {"image": held_out}, plain=plain)
            assert status == 200 and set(body["product_count"]) == {"bottle"}, body

        report = json.loads(srv.cli("sku", "train", str(coco), "--epochs", "200", "--json"))
        assert report["classes"] == ["189", "772"] and report["not_seed_skus"] == []
        assert report["path"] == str(models / "sku-classifier" / "sku_classifier.onnx")
        for plain in (False, True):
            status, body = client.predict("inventory_counting", token, {"image": held_out}, plain=plain)
            assert status == 200 and set(body["product_count"]) == {"189"}, body
            assert body["detection_class_names"] == ["189"] * body["product_count"]["189"]
            assert set(body["detection_classes"]) == {SKU_CLASSES.index("189") + 1}  # 1-based, as COCO ids

        srv.cli("sku", "remove")
        status, body = client.predict("inventory_counting", token, {"image": held_out})
        assert status == 200 and set(body["product_count"]) == {"bottle"}, body
    finally:
        client.close()


def test_training_on_bad_data_fails_with_a_message(server, tmp_path: Path) -> None:
    import subprocess

    srv, _, _ = server
    (tmp_path / "only" / "189").mkdir(parents=True)
    Image.new("RGB", (40, 60), (200, 30, 30)).save(tmp_path / "only" / "189" / "a.png")
    with pytest.raises(subprocess.CalledProcessError) as info:
        srv.cli("sku", "train", str(tmp_path / "only"))
    assert "at least two SKUs" in info.value.stdout + info.value.stderr
