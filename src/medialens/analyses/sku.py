"""The second stage of inventory counting: a fine-grained SKU classifier over the detector's crops.

The seed's inventory model is a detector plus a classifier of 171 SKUs (bottled drinks, ids below). No SKU data
ships with medialens, so until a classifier is trained, inventory counting reports the general detector's COCO
classes (bottle, cup, ...). Train one from your own labelled data:

    medialens sku train DATASET [--epochs 300]

DATASET is either a folder of crops, ``DATASET/<sku id>/*.jpg`` (one folder per SKU), or a COCO detection file
(``DATASET`` = ``annotations.json``, or a folder holding one: ``images`` with ``file_name`` relative to it,
``annotations`` with ``bbox`` [x, y, w, h] and ``category_id``, ``categories`` named by SKU id), whose boxes are
cut out. The labels may be any of the 171 ids or your own. Each crop is embedded with MobileNetV2's 1280-d
features (the offline model), and a softmax classifier is fitted on them (NumPy, L2-regularised, full-batch
gradient descent). It is written as an ONNX model (features [N, 1280] -> probabilities [N, classes], the class
names in its metadata) to ``<model dir>/sku-classifier/sku_classifier.onnx`` and used by the inventory service from
then on (a crop scoring under ``MIN_SKU_SCORE`` keeps its COCO class). This is a light classifier on the general
detector's crops, not a retrained detector: objects the COCO detector misses are not counted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from medialens.config import Settings
from medialens.models.loader import get_pipeline

IMAGENET_MODEL = "mobilenet-v2"
CLASSIFIER_DIR = "sku-classifier"
CLASSIFIER_FILE = "sku_classifier.onnx"
METADATA_KEY = "medialens.sku_classes"
FEATURE_DIM = 1280
MIN_SKU_SCORE = 0.5
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
MIN_CROP_PIXELS = 4

# The seed's 171 SKU ids, in its order.
SKU_CLASSES = tuple(
    """
    189 772 773 307 306 305 304 303 757 342 343 344 5 346 347 348 349 438 439 440 441 341 460 457 764 459 469
    329 331 332 333 334 762 763 337 338 340 471 470 336 335 767 770 769 758 455 456 454 446 775 761 778 777 779
    789 780 453 452 451 450 449 448 444 447 445 472 468 190 759 195 196 301 300 188 186 185 184 183 182 181 308
    309 310 311 734 312 313 355 339 774 791 180 187 198 197 368 369 299 298 374 372 373 371 370 350 351 352 353
    755 754 429 432 431 753 433 434 435 436 437 718 717 716 715 714 712 430 354 200 6 476 477 478 479 713 474
    473 768 443 442 321 315 318 316 322 317 319 179 320 324 323 325 326 327 328 330 458 776 765 766 4 461 199
    462 464 466 467 756 465 463 719 4345
    """.split()  # noqa: SIM905 - the seed's list, as words
)


class DatasetError(ValueError):
    """The training data cannot be read or cannot train a classifier (the message says why)."""


@dataclass(frozen=True)
class Sample:
    """One labelled crop: the image file, the box to cut ((x1, y1, x2, y2) in pixels; None = the whole file)."""

    path: Path
    label: str
    box: tuple[float, float, float, float] | None = None


class SkuClassifier:
    """The trained classifier as ONNX Runtime runs it: unit MobileNetV2 features -> SKU probabilities."""

    def __init__(self, path: Path, settings: Settings) -> None:
        from medialens.models.runtime import onnx_session

        self.session = onnx_session(path, settings)
        meta = self.session.get_modelmeta().custom_metadata_map
        try:
            self.classes: tuple[str, ...] = tuple(json.loads(meta[METADATA_KEY]))
        except (KeyError, ValueError):
            raise DatasetError(f"{path} is not a medialens SKU classifier (no {METADATA_KEY} metadata)") from None

    def predict(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(class index, probability) per row of unit features [m, 1280]."""
        probs = self.session.run(None, {"features": np.asarray(features, np.float32)})[0]
        best = probs.argmax(axis=1)
        return best, probs[np.arange(len(best)), best]


def classifier_path(settings: Settings) -> Path:
    return settings.resolved_model_dir / CLASSIFIER_DIR / CLASSIFIER_FILE


_LOADED: dict[Path, tuple[float, SkuClassifier]] = {}


def trained_classifier(settings: Settings) -> SkuClassifier | None:
    """The trained classifier, when there is one (re-read when the file changes)."""
    path = classifier_path(settings)
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return None
    hit = _LOADED.get(path)
    if hit is None or hit[0] != mtime:
        hit = _LOADED[path] = (mtime, SkuClassifier(path, settings))
    return hit[1]


def features(images: Sequence[Image.Image], settings: Settings) -> np.ndarray:
    """Unit MobileNetV2 features [m, 1280] of the images."""
    if not images:
        return np.zeros((0, FEATURE_DIM))
    rows = np.stack([r.features for r in get_pipeline(IMAGENET_MODEL, settings).run_batch(list(images))])
    rows = rows.astype(np.float64)
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def fit(x: np.ndarray, y: np.ndarray, n: int, *, epochs: int = 300, lr: float = 5.0, l2: float = 1e-4):
    """Multinomial logistic regression by full-batch gradient descent: (weights [d, n], bias [n])."""
    w = np.zeros((x.shape[1], n))
    b = np.zeros(n)
    onehot = np.eye(n)[y]
    for _ in range(epochs):
        grad = (_softmax(x @ w + b) - onehot) / len(x)
        w -= lr * (x.T @ grad + l2 * w)
        b -= lr * grad.sum(axis=0)
    return w, b


def classifier_onnx(classes: Sequence[str], weights: np.ndarray, bias: np.ndarray) -> bytes:
    """features [N, d] -> MatMul -> Add -> Softmax -> probs [N, classes]; the class names in the metadata."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes = [
        helper.make_node("MatMul", ["features", "weights"], ["logits_raw"]),
        helper.make_node("Add", ["logits_raw", "bias"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probs"], axis=-1),
    ]
    graph = helper.make_graph(
        nodes,
        "sku_classifier",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", weights.shape[0]])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", len(classes)])],
        [
            numpy_helper.from_array(weights.astype(np.float32), "weights"),
            numpy_helper.from_array(bias.astype(np.float32), "bias"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="medialens sku")
    model.ir_version = 8
    entry = model.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, json.dumps(list(classes))
    onnx.checker.check_model(model)
    return model.SerializeToString()


# --- datasets ------------------------------------------------------------------------------------------------------
def read_folder(root: Path) -> list[Sample]:
    return [
        Sample(f, folder.name)
        for folder in sorted(p for p in root.iterdir() if p.is_dir())
        for f in sorted(folder.iterdir())
        if f.suffix.lower() in IMAGE_SUFFIXES
    ]


def read_coco(path: Path) -> list[Sample]:
    """The boxes of a COCO detection file, each labelled with its category's name."""
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
        names = {int(c["id"]): str(c["name"]) for c in data["categories"]}
        files = {int(i["id"]): path.parent / str(i["file_name"]) for i in data["images"]}
        out = []
        for ann in data["annotations"]:
            x, y, w, h = (float(v) for v in ann["bbox"])
            out.append(Sample(files[int(ann["image_id"])], names[int(ann["category_id"])], (x, y, x + w, y + h)))
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise DatasetError(f"{path}: not a readable COCO detection file ({type(err).__name__}: {err})") from None
    return out


def read_dataset(root: Path) -> list[Sample]:
    """A folder of per-SKU crop folders, or a COCO file (``root`` itself or ``root/annotations.json``)."""
    if root.is_file():
        samples = read_coco(root)
    elif (root / "annotations.json").is_file():
        samples = read_coco(root / "annotations.json")
    elif root.is_dir():
        samples = read_folder(root)
    else:
        raise DatasetError(f"{root}: no such file or folder")
    if len({s.label for s in samples}) < 2:
        raise DatasetError(
            f"{root}: need labelled crops of at least two SKUs (one folder per SKU id, or a COCO file with two "
            "categories in use)"
        )
    return samples


def _crops(samples: Sequence[Sample]) -> Iterator[Image.Image]:
    for s in samples:
        try:
            with Image.open(s.path) as img:
                image = img.convert("RGB")
        except OSError as err:
            raise DatasetError(f"{s.path}: not a readable image ({err})") from None
        if s.box is not None:
            x1, y1, x2, y2 = (round(v) for v in s.box)
            box = (max(0, x1), max(0, y1), min(image.width, x2), min(image.height, y2))
            if box[2] - box[0] < MIN_CROP_PIXELS or box[3] - box[1] < MIN_CROP_PIXELS:
                raise DatasetError(f"{s.path}: box {s.box} is empty or outside the image")
            image = image.crop(box)
        yield image


@dataclass(frozen=True)
class TrainReport:
    classes: tuple[str, ...]
    samples: int
    train_accuracy: float
    path: Path

    @property
    def unknown(self) -> list[str]:
        """Classes that are not among the seed's 171 SKU ids."""
        return sorted(set(self.classes) - set(SKU_CLASSES))


def train(root: Path, settings: Settings, *, epochs: int = 300, batch: int = 32) -> TrainReport:
    samples = read_dataset(root)
    classes = tuple(sorted({s.label for s in samples}))
    index = {c: i for i, c in enumerate(classes)}
    chunks = [features(list(_crops(samples[i : i + batch])), settings) for i in range(0, len(samples), batch)]
    x, y = np.concatenate(chunks), np.array([index[s.label] for s in samples])
    w, b = fit(x, y, len(classes), epochs=epochs)
    accuracy = float((np.argmax(x @ w + b, axis=1) == y).mean())
    path = classifier_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(classifier_onnx(classes, w, b))
    tmp.replace(path)
    return TrainReport(classes, len(samples), accuracy, path)
