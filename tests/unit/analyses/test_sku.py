"""The SKU classifier behind inventory counting: trained on labelled crops (real bottle crops from the shared
video, and crops of other photos), then naming each detected bottle by its SKU."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from medialens.analyses import model_hub, sku
from medialens.config import Settings
from tests.conftest import MEDIA
from tests.support import ensure_models


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """A model dir of its own (the classifier is written there) holding links to the installed models."""
    installed = ensure_models("mobilenet-v2", "nanodet")
    root = tmp_path / "models"
    root.mkdir()
    for name in ("mobilenet-v2", "nanodet"):
        (root / name).symlink_to(installed / name)
    return Settings(model_dir=root)


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


def test_the_seeds_171_sku_ids() -> None:
    assert len(sku.SKU_CLASSES) == len(set(sku.SKU_CLASSES)) == 171
    assert sku.SKU_CLASSES[:3] == ("189", "772", "773") and sku.SKU_CLASSES[-1] == "4345"


def test_fit_separates_classes_and_the_onnx_model_agrees(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 16))
    y = np.repeat(np.arange(3), 20)
    x = centres[y] + 0.1 * rng.normal(size=(60, 16))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    w, b = sku.fit(x, y, 3)
    path = tmp_path / "c.onnx"
    path.write_bytes(sku.classifier_onnx(("a", "b", "c"), w, b))
    model = sku.SkuClassifier(path, Settings())
    best, score = model.predict(x)
    assert model.classes == ("a", "b", "c") and (best == y).mean() == 1.0
    z = x @ w + b
    expected = np.exp(z - z.max(axis=1, keepdims=True))
    np.testing.assert_allclose(score, (expected / expected.sum(axis=1, keepdims=True)).max(axis=1), atol=1e-5)


def test_a_model_without_sku_classes_is_refused(tmp_path: Path) -> None:
    from tests.unit.hub.conftest import image_embedder

    path = tmp_path / "other.onnx"
    path.write_bytes(image_embedder("features", "probs", 4))
    with pytest.raises(sku.DatasetError, match="not a medialens SKU classifier"):
        sku.SkuClassifier(path, Settings())


def test_cli_remove_without_a_classifier(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from medialens.cli import app
    from medialens.config import get_settings

    monkeypatch.setenv("MEDIALENS_MODEL_DIR", str(tmp_path / "models"))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["sku", "remove"])
        assert result.exit_code == 1 and "no SKU classifier is trained" in result.output
        bad = CliRunner().invoke(app, ["sku", "train", str(tmp_path / "missing")])
        assert bad.exit_code == 1 and "no such file or folder" in " ".join(bad.output.split())
    finally:
        get_settings.cache_clear()


def test_dataset_errors_say_what_is_wrong(tmp_path: Path, settings: Settings) -> None:
    with pytest.raises(sku.DatasetError, match="no such file"):
        sku.read_dataset(tmp_path / "missing")
    (tmp_path / "one" / "189").mkdir(parents=True)
    Image.new("RGB", (32, 32)).save(tmp_path / "one" / "189" / "a.png")
    with pytest.raises(sku.DatasetError, match="at least two SKUs"):
        sku.read_dataset(tmp_path / "one")
    bad = tmp_path / "bad.json"
    bad.write_text('{"images": []}')
    with pytest.raises(sku.DatasetError, match="not a readable COCO"):
        sku.read_dataset(bad)
    coco = {
        "images": [{"id": 1, "file_name": "a.png"}],
        "annotations": [
            {"image_id": 1, "bbox": [0, 0, 10, 10], "category_id": 1},
            {"image_id": 1, "bbox": [500, 500, 10, 10], "category_id": 2},
        ],
        "categories": [{"id": 1, "name": "189"}, {"id": 2, "name": "772"}],
    }
    (tmp_path / "one" / "189" / "annotations.json").write_text(json.dumps(coco))
    with pytest.raises(sku.DatasetError, match="outside the image"):
        sku.train(tmp_path / "one" / "189", settings)
    assert sku.trained_classifier(settings) is None  # nothing written


def test_train_then_inventory_names_skus(settings: Settings, tmp_path: Path) -> None:
    frames = _frames(8)
    assert model_hub.inventory(frames[0], settings)[1].startswith("nanodet (COCO classes")
    data = tmp_path / "dataset"
    (data / "189").mkdir(parents=True)
    (data / "772").mkdir()
    for k, frame in enumerate(frames[1:]):
        for j, det in enumerate(model_hub.retail_objects(frame, settings)):
            frame.crop(tuple(round(v) for v in det.box)).save(data / "189" / f"{k}_{j}.png")
    for k, name in enumerate(("skimage_cat_chelsea.png", "skimage_coins.png", "skimage_motorcycle.png")):
        with Image.open(MEDIA / "image" / name) as img:
            w, h = img.size
            for j in range(4):  # patches of other photos: "not this bottle"
                box = (j * w // 8, j * h // 8, j * w // 8 + w // 3, j * h // 8 + h // 2)
                img.convert("RGB").crop(box).save(data / "772" / f"{k}_{j}.png")
    assert len(list((data / "189").iterdir())) >= 10

    report = sku.train(data, settings, epochs=200)
    assert report.classes == ("189", "772") and report.train_accuracy == 1.0 and report.unknown == []
    model = sku.trained_classifier(settings)
    assert model is not None and model.classes == ("189", "772")
    assert sku.classifier_path(settings).suffix == ".onnx" and sku.classifier_path(settings).is_file()

    dets, method = model_hub.inventory(frames[0], settings)  # a frame the classifier did not see
    assert method == "nanodet + sku-classifier"
    assert dets and {d.label for d in dets} == {"189"}
    assert all(d.class_id == sku.SKU_CLASSES.index("189") for d in dets)
