"""Hugging Face conventions over the loopback mirror: HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE, HF_HOME."""

from __future__ import annotations

from hashlib import sha256 as _sha
from pathlib import Path

import pytest

from medialens.config import Settings
from medialens.models.errors import ChecksumError, OfflineError
from medialens.models.installed import installed, pull
from medialens.models.sources import HuggingFaceRepo, hf_cache_dir
from medialens.models.spec import ModelSpec


def _h(data: bytes) -> str:
    return _sha(data).hexdigest()


ONNX = b"onnx-graph" * 1000
REV = "0123456789abcdef0123456789abcdef01234567"


def _hub_spec(register, **kw) -> ModelSpec:
    src = HuggingFaceRepo("org/tiny-clip", REV, {"onnx/model.onnx": "model.onnx", "config.json": "config.json"}, **kw)
    return register(ModelSpec("tiny-clip", "test", "onnx", (src,), ("model.onnx", "config.json"), "MIT", bundle="hub"))


def _serve(mirror) -> None:
    mirror.hf_file("org/tiny-clip", REV, "onnx/model.onnx", ONNX)
    mirror.hf_file("org/tiny-clip", REV, "config.json", b'{"dim": 4}')


def test_hub_pull_sends_token_and_fills_cache(
    mirror, settings: Settings, register, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_secret")
    _serve(mirror)
    _hub_spec(register, sha256={"onnx/model.onnx": _h(ONNX)})
    path = pull("tiny-clip", settings=settings)
    assert (path / "model.onnx").read_bytes() == ONNX
    hub_requests = [h for p, h in mirror.requests if p.startswith("/hf/org/tiny-clip/resolve/")]
    assert len(hub_requests) == 2
    assert all(h["authorization"] == "Bearer hf_secret" for h in hub_requests)
    cache = hf_cache_dir({"HF_HOME": str(tmp_path / "hf")}) / "org--tiny-clip" / REV
    assert (cache / "onnx" / "model.onnx").read_bytes() == ONNX


def test_no_token_no_authorization_header(mirror, settings: Settings, register) -> None:
    _serve(mirror)
    _hub_spec(register)
    pull("tiny-clip", settings=settings)
    assert all("authorization" not in h for _, h in mirror.requests)


def test_offline_without_cache_refuses_network(
    mirror, settings: Settings, register, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    _serve(mirror)
    _hub_spec(register)
    with pytest.raises(OfflineError, match="HF_HUB_OFFLINE"):
        pull("tiny-clip", settings=settings)
    assert mirror.requests == []
    assert not installed("tiny-clip", settings)


def test_offline_with_cache_installs_from_cache(
    mirror, settings: Settings, register, monkeypatch: pytest.MonkeyPatch
) -> None:
    _serve(mirror)
    _hub_spec(register)
    pull("tiny-clip", settings=settings)  # fills the cache
    from medialens.models.installed import remove

    remove("tiny-clip", settings)
    mirror.requests.clear()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    path = pull("tiny-clip", settings=settings)
    assert (path / "model.onnx").read_bytes() == ONNX
    assert mirror.requests == []


def test_redirect_and_linked_etag_are_checked(mirror, settings: Settings, register) -> None:
    """The hub redirects LFS files to a CDN and puts their sha256 in X-Linked-Etag; a mismatch is refused."""
    mirror.add("/cdn/blob", ONNX)
    mirror.hf_file(
        "org/tiny-clip",
        REV,
        "onnx/model.onnx",
        b"",
        headers={"Location": mirror.base + "/cdn/blob", "X-Linked-Etag": f'"{"f" * 64}"'},
    )
    mirror.routes[f"/hf/org/tiny-clip/resolve/{REV}/onnx/model.onnx"].status = 302
    mirror.hf_file("org/tiny-clip", REV, "config.json", b"{}")
    _hub_spec(register)
    with pytest.raises(ChecksumError):
        pull("tiny-clip", settings=settings)
    mirror.routes[f"/hf/org/tiny-clip/resolve/{REV}/onnx/model.onnx"].headers["X-Linked-Etag"] = f'"{_h(ONNX)}"'
    assert (pull("tiny-clip", settings=settings) / "model.onnx").read_bytes() == ONNX
