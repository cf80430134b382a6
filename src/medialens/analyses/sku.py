"""The second stage of inventory counting: a fine-grained SKU classifier over the detector's bottle crops.

The seed's inventory model is a detector plus a classifier of 171 SKUs (bottled drinks, ids below). No SKU data
ships with medialens, so until a classifier is trained, inventory counting reports the general detector's COCO
classes (bottle, cup, ...). Train one from your own labelled crops:

    python -m medialens.analyses.sku train DATASET [--epochs 300]

with ``DATASET/<sku id>/*.jpg`` (one folder per SKU, any of the 171 ids or your own). Each crop is embedded with
MobileNetV2's 1280-d features (the offline model) and a softmax classifier is fitted on them (NumPy, L2-
regularised, full-batch gradient descent); it is saved as ``<model dir>/sku-classifier/sku_classifier.npz`` and
used by the inventory service from then on (crops scoring under ``MIN_SKU_SCORE`` keep their COCO class).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from medialens.config import Settings, get_settings
from medialens.models.loader import get_pipeline

IMAGENET_MODEL = "mobilenet-v2"
CLASSIFIER_DIR = "sku-classifier"
CLASSIFIER_FILE = "sku_classifier.npz"
MIN_SKU_SCORE = 0.5
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")

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


@dataclass(frozen=True)
class SkuClassifier:
    classes: tuple[str, ...]
    weights: np.ndarray  # [1280, n]
    bias: np.ndarray  # [n]

    def predict(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(class index, probability) per row of unit features [m, 1280]."""
        probs = _softmax(np.asarray(features, np.float64) @ self.weights + self.bias)
        best = probs.argmax(axis=1)
        return best, probs[np.arange(len(best)), best]

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, classes=np.array(self.classes), weights=self.weights, bias=self.bias)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> SkuClassifier:
        with np.load(path, allow_pickle=False) as data:
            return cls(tuple(str(c) for c in data["classes"]), data["weights"], data["bias"])


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
        hit = _LOADED[path] = (mtime, SkuClassifier.load(path))
    return hit[1]


def features(images: Sequence[Image.Image], settings: Settings) -> np.ndarray:
    """Unit MobileNetV2 features [m, 1280] of the images."""
    if not images:
        return np.zeros((0, 1280))
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


def read_dataset(root: Path) -> tuple[list[Path], list[str]]:
    files, labels = [], []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        for f in sorted(folder.iterdir()):
            if f.suffix.lower() in IMAGE_SUFFIXES:
                files.append(f)
                labels.append(folder.name)
    if len(set(labels)) < 2:
        raise ValueError(f"{root}: need crops of at least two SKUs, one folder per SKU id")
    return files, labels


def train(root: Path, settings: Settings, *, epochs: int = 300, batch: int = 32) -> SkuClassifier:
    files, labels = read_dataset(root)
    classes = tuple(sorted(set(labels)))
    index = {c: i for i, c in enumerate(classes)}
    chunks = []
    for start in range(0, len(files), batch):
        images = []
        for f in files[start : start + batch]:
            with Image.open(f) as img:
                images.append(img.convert("RGB"))
        chunks.append(features(images, settings))
    w, b = fit(np.concatenate(chunks), np.array([index[c] for c in labels]), len(classes), epochs=epochs)
    model = SkuClassifier(classes, w, b)
    model.save(classifier_path(settings))
    return model


def main(argv: Sequence[str] | None = None, settings: Settings | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m medialens.analyses.sku", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="fit the SKU classifier on DATASET/<sku id>/*.jpg crops")
    t.add_argument("dataset", type=Path)
    t.add_argument("--epochs", type=int, default=300)
    args = parser.parse_args(argv)
    settings = settings or get_settings()
    model = train(args.dataset, settings, epochs=args.epochs)
    unknown = sorted(set(model.classes) - set(SKU_CLASSES))
    print(f"trained {len(model.classes)} SKU classes -> {classifier_path(settings)}")
    if unknown:
        print(f"note: {len(unknown)} classes are not among the seed's 171 SKU ids: {', '.join(unknown[:10])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
