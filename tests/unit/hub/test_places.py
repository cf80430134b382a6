"""Places365 ResNet-18: CSAIL's checkpoint layout (PyTorch 0.3 legacy format, DataParallel ``module.`` keys, the
state dict inside a training checkpoint), pulled from a loopback mirror, converted to ONNX at pull time without
torch, and checked against a NumPy forward pass of the same network."""

from __future__ import annotations

import collections
import dataclasses
import io
import json
import pickle
import struct
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from medialens.models import registry
from medialens.models.convert.torch_pickle import LEGACY_MAGIC
from medialens.models.errors import ModelError
from medialens.models.installed import pull
from medialens.models.pipelines import pipeline_class
from medialens.models.pipelines.places import read_categories
from medialens.models.registry import get_spec
from medialens.models.sources import JoinedParts, UrlFile
from tests.unit.hub.conftest import media_image
from tests.unit.models.conftest import Mirror

CATEGORIES = ["/a/airfield 0", "/a/apartment_building/outdoor 1", "/b/beach 2", "/k/kitchen 3", "/z/zen_garden 4"]
WIDTHS = (4, 8, 8, 8)  # a narrow ResNet-18: the converter takes every width from the weights


# --- a checkpoint as CSAIL's (written with a stand-in torch module; the reader never imports one) ------------------
def resnet18_state(classes: int = len(CATEGORIES), seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    sd: dict[str, np.ndarray] = {}

    def conv_bn(conv: str, bn: str, cin: int, cout: int, k: int) -> None:
        sd[f"{conv}.weight"] = (rng.normal(size=(cout, cin, k, k)) / np.sqrt(cin * k * k)).astype(np.float32)
        sd[f"{bn}.weight"] = rng.uniform(0.5, 1.5, cout).astype(np.float32)
        sd[f"{bn}.bias"] = rng.normal(0, 0.1, cout).astype(np.float32)
        sd[f"{bn}.running_mean"] = rng.normal(0, 0.1, cout).astype(np.float32)
        sd[f"{bn}.running_var"] = rng.uniform(0.5, 1.5, cout).astype(np.float32)
        sd[f"{bn}.num_batches_tracked"] = np.array(10, np.int64)

    conv_bn("conv1", "bn1", 3, WIDTHS[0], 7)
    cin = WIDTHS[0]
    for layer, width in enumerate(WIDTHS, start=1):
        for block in range(2):
            p = f"layer{layer}.{block}"
            conv_bn(f"{p}.conv1", f"{p}.bn1", cin, width, 3)
            conv_bn(f"{p}.conv2", f"{p}.bn2", width, width, 3)
            if block == 0 and layer > 1:
                conv_bn(f"{p}.downsample.0", f"{p}.downsample.1", cin, width, 1)
            cin = width
    sd["fc.weight"] = rng.normal(size=(classes, cin)).astype(np.float32)
    sd["fc.bias"] = rng.normal(0, 0.1, classes).astype(np.float32)
    return sd


def legacy_checkpoint(state: dict[str, np.ndarray]) -> bytes:
    """``torch.save`` of PyTorch 0.3 (legacy format, ``_rebuild_tensor``) of CSAIL's training checkpoint."""
    torch, utils = types.ModuleType("torch"), types.ModuleType("torch._utils")
    kinds = {}
    for name in ("FloatStorage", "LongStorage"):
        kinds[name] = type(name, (), {"__module__": "torch"})
        setattr(torch, name, kinds[name])

    def _rebuild_tensor(*args):  # pragma: no cover - only pickled by reference
        raise AssertionError

    _rebuild_tensor.__module__, _rebuild_tensor.__qualname__ = "torch._utils", "_rebuild_tensor"
    utils._rebuild_tensor = _rebuild_tensor
    arrays: list[np.ndarray] = []

    class Storage:
        def __init__(self, arr: np.ndarray) -> None:
            self.key, self.arr = str(len(arrays)), arr
            arrays.append(arr)

    class Tensor:
        def __init__(self, arr: np.ndarray) -> None:
            self.storage = Storage(np.ascontiguousarray(arr))

        def __reduce__(self):
            arr = self.storage.arr
            return _rebuild_tensor, (self.storage, 0, arr.shape, tuple(s // arr.itemsize for s in arr.strides))

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, Storage):
                kind = kinds["FloatStorage" if obj.arr.dtype == np.float32 else "LongStorage"]
                return ("storage", kind, obj.key, "cuda:0", obj.arr.size, None)
            return None

    saved = {k: sys.modules.get(k) for k in ("torch", "torch._utils")}
    sys.modules["torch"], sys.modules["torch._utils"] = torch, utils
    try:
        body = io.BytesIO()
        params = collections.OrderedDict((f"module.{k}", Tensor(v)) for k, v in state.items())
        Pickler(body, protocol=2).dump({"epoch": 90, "arch": "resnet18", "state_dict": params, "best_prec1": 54.7})
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v
    out = io.BytesIO()
    for header in (LEGACY_MAGIC, 1001, {"protocol_version": 1001, "little_endian": True, "type_sizes": {}}):
        pickle.dump(header, out, protocol=2)
    out.write(body.getvalue())
    pickle.dump([str(i) for i in range(len(arrays))], out, protocol=2)
    for arr in arrays:
        out.write(struct.pack("<q", arr.size) + arr.tobytes())
    return out.getvalue()


# --- the same network in NumPy --------------------------------------------------------------------------------------
def _conv(x: np.ndarray, w: np.ndarray, stride: int) -> np.ndarray:
    k = w.shape[-1]
    x = np.pad(x, ((0, 0), (k // 2, k // 2), (k // 2, k // 2)))
    win = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(1, 2))[:, ::stride, ::stride]
    return np.einsum("chwij,ocij->ohw", win, w, optimize=True)


def _bn(x: np.ndarray, sd: dict, bn: str) -> np.ndarray:
    scale = sd[f"{bn}.weight"] / np.sqrt(sd[f"{bn}.running_var"] + 1e-5)
    return (x - sd[f"{bn}.running_mean"][:, None, None]) * scale[:, None, None] + sd[f"{bn}.bias"][:, None, None]


def numpy_resnet18(sd: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    relu = lambda a: np.maximum(a, 0)  # noqa: E731
    x = relu(_bn(_conv(x, sd["conv1.weight"], 2), sd, "bn1"))
    x = np.pad(x, ((0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    x = np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(1, 2))[:, ::2, ::2].max(axis=(-1, -2))
    for layer in range(1, 5):
        for block in range(2):
            p, s = f"layer{layer}.{block}", 2 if layer > 1 and block == 0 else 1
            y = relu(_bn(_conv(x, sd[f"{p}.conv1.weight"], s), sd, f"{p}.bn1"))
            y = _bn(_conv(y, sd[f"{p}.conv2.weight"], 1), sd, f"{p}.bn2")
            if f"{p}.downsample.0.weight" in sd:
                x = _bn(_conv(x, sd[f"{p}.downsample.0.weight"], s), sd, f"{p}.downsample.1")
            x = relu(y + x)
    return sd["fc.weight"] @ x.mean(axis=(1, 2)) + sd["fc.bias"]


# --- served from the mirror -----------------------------------------------------------------------------------------
def serve_places(mirror: Mirror, monkeypatch: pytest.MonkeyPatch, checkpoint: bytes, categories: bytes) -> str:
    """The real spec with its two CSAIL URLs pointed at the mirror (the same file names)."""
    real = get_spec("places365-resnet18")
    (parts,) = real.sources
    urls = [p.url for p in parts.parts]
    mirror.add("/csail/resnet18_places365.pth.tar", checkpoint)
    mirror.add("/github/categories_places365.txt", categories)
    local = JoinedParts(
        parts=(
            UrlFile(mirror.base + "/csail/" + urls[0].rsplit("/", 1)[1], None),
            UrlFile(mirror.base + "/github/" + urls[1].rsplit("/", 1)[1], None),
        )
    )
    monkeypatch.setitem(registry.REGISTRY, real.name, dataclasses.replace(real, sources=(local,)))
    return real.name


def test_the_spec_pulls_csails_release() -> None:
    spec = get_spec("places365-resnet18")
    (source,) = spec.sources
    assert [p.url for p in source.parts] == [
        "http://places2.csail.mit.edu/models_places365/resnet18_places365.pth.tar",
        "https://raw.githubusercontent.com/CSAILVision/places365/master/categories_places365.txt",
    ]
    assert spec.raw_files == ("resnet18_places365.pth.tar", "categories_places365.txt") and spec.convert is not None


def test_pull_converts_the_checkpoint_and_classifies(mirror, settings, monkeypatch) -> None:
    state = resnet18_state()
    cats = ("\n".join(CATEGORIES) + "\n").encode()
    name = serve_places(mirror, monkeypatch, legacy_checkpoint(state), cats)
    path = pull(name, settings=settings)
    assert sorted(p.name for p in path.iterdir()) == [
        "categories_places365.txt",
        "manifest.json",
        "resnet18_places365.onnx",
    ]
    origin = json.loads((path / "manifest.json").read_text())["origin"]
    assert "sha256" in json.dumps(origin)  # unpinned upstream: the digest seen is recorded
    assert read_categories(path / "categories_places365.txt")[:2] == ["airfield", "apartment_building/outdoor"]

    pipe = pipeline_class(name)(path, settings)
    image = media_image()
    pre = pipe.preprocess(image)
    want = numpy_resnet18(state, pre.astype(np.float64))
    got = pipe.forward([pre])[0]
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-3)
    res = pipe(image)
    expected = [read_categories(path / "categories_places365.txt")[i] for i in np.argsort(-want)]
    assert [n for n, _ in res.top] == expected
    assert res.probs.sum() == pytest.approx(1.0, abs=1e-5)


def test_places365_rejects_mismatched_categories(mirror, settings, monkeypatch) -> None:
    name = serve_places(mirror, monkeypatch, legacy_checkpoint(resnet18_state()), b"/a/airfield 0\n")
    with pytest.raises(ValueError, match="categories"):
        pipeline_class(name)(pull(name, settings=settings), settings)


def test_a_checkpoint_of_another_network_fails_the_pull(mirror, settings, monkeypatch) -> None:
    state = resnet18_state()
    del state["layer3.0.downsample.0.weight"], state["fc.weight"]
    name = serve_places(mirror, monkeypatch, legacy_checkpoint(state), b"\n".join(c.encode() for c in CATEGORIES))
    with pytest.raises(ModelError, match=r"conversion failed.*not a torchvision ResNet-18"):
        pull(name, settings=settings)
    assert not (Path(settings.model_dir) / name).exists()
