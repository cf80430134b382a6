"""Fixtures for media intake tests: the shared real media, a loopback HTTP server and a video generator."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import av
import numpy as np
import pytest
from tests.conftest import MEDIA

from medialens.config import Settings

PAYLOAD_BYTE = b"m"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``image_record`` / ``video_record`` / ``audio_record``: one test per labels.json entry of that kind."""
    for kind in ("image", "video", "audio"):
        name = f"{kind}_record"
        if name in metafunc.fixturenames:
            records = [r for r in json.loads((MEDIA / "labels.json").read_text()) if r["kind"] == kind]
            metafunc.parametrize(name, records, ids=[Path(r["file"]).name for r in records])


@pytest.fixture(scope="session")
def media_dir() -> Path:
    """The shared real media (tests may read it; the service never does)."""
    return MEDIA


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Explicit settings with small timeouts; loopback allowed because the test server lives there."""
    return Settings(
        data_dir=tmp_path,
        allow_private_urls=True,
        fetch_connect_timeout_s=1.0,
        fetch_read_timeout_s=0.3,
        fetch_max_redirects=3,
    )


class _Handler(BaseHTTPRequestHandler):
    """Routes: /bytes/N, /nolength/N, /status/C, /redirect/K (K hops then bytes), /redirect-to?url=U,
    /slow-headers, /slow-body, /trickle/N (N bytes, one per 0.1 s), /huge-length, /echo-host."""

    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        self.server.paths.append(self.path)
        parts = urlsplit(self.path)
        route, _, arg = parts.path.strip("/").partition("/")
        if route == "bytes":
            self._send(200, PAYLOAD_BYTE * int(arg))
        elif route == "nolength":
            self.send_response(200)
            self.end_headers()  # HTTP/1.0, no Content-Length: the body ends when we close
            self.wfile.write(PAYLOAD_BYTE * int(arg))
        elif route == "status":
            self._send(int(arg), b"nope")
        elif route == "redirect":
            hops = int(arg)
            if hops == 0:
                self._send(200, PAYLOAD_BYTE * 100)
            else:
                self._redirect(f"/redirect/{hops - 1}")
        elif route == "redirect-to":
            self._redirect(parse_qs(parts.query)["url"][0])
        elif route == "slow-headers":
            time.sleep(1.0)
            self._send(200, b"late")
        elif route == "slow-body":
            self.send_response(200)
            self.send_header("Content-Length", "10")
            self.end_headers()
            self.wfile.write(b"12345")
            self.wfile.flush()
            time.sleep(1.0)
        elif route == "trickle":
            self.send_response(200)
            self.send_header("Content-Length", arg)
            self.end_headers()
            try:
                for _ in range(int(arg)):
                    self.wfile.write(PAYLOAD_BYTE)
                    self.wfile.flush()
                    time.sleep(0.1)
            except (BrokenPipeError, ConnectionResetError):
                pass
        elif route == "huge-length":
            self.send_response(200)
            self.send_header("Content-Length", str(10**12))
            self.end_headers()
        elif route == "echo-host":
            self._send(200, self.headers.get("Host", "").encode())
        else:
            self._send(404, b"unknown route")

    def _send(self, code: int, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    paths: list[str]


@pytest.fixture(scope="session")
def _http_server() -> Iterator[_Server]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.paths = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def http_server(_http_server: _Server) -> _Server:
    """The loopback server with its request log (``paths``) cleared."""
    _http_server.paths.clear()
    return _http_server


@pytest.fixture
def server_url(http_server: _Server) -> str:
    return f"http://127.0.0.1:{http_server.server_address[1]}"


def write_video(
    path: Path,
    *,
    seconds: float,
    width: int,
    height: int,
    fps: int = 30,
    gop: int = 60,
    rotation: int | None = None,
) -> Path:
    """Encode an H.264 test clip: a scrolling gradient with a moving noise block (like real motion)."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:height, 0:width]
    base = np.stack([xx % 256, yy % 256, ((xx + yy) // 2) % 256], axis=-1).astype(np.uint8)
    noise = rng.integers(0, 255, (max(2, height // 4), max(2, width // 4), 3), dtype=np.uint8)
    cycle = []
    for i in range(fps):  # one second of distinct frames, reused: encoding dominates, not numpy
        img = np.roll(base, i * 8, axis=1)
        x = (i * 29) % max(1, width - noise.shape[1])
        img[height // 3 : height // 3 + noise.shape[0], x : x + noise.shape[1]] = noise
        cycle.append(av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p"))
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast", "g": str(gop), "crf": "30"}
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for i in range(round(seconds * fps)):
            frame = cycle[i % fps]
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


@pytest.fixture
def make_video(tmp_path: Path) -> Callable[..., Path]:
    def _make(name: str = "clip.mp4", **kwargs: object) -> Path:
        return write_video(tmp_path / name, **kwargs)  # type: ignore[arg-type]

    return _make


@pytest.fixture(scope="session")
def clip_720p_60s(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The benchmark clip: 60 s of 1280x720 H.264 at 30 fps, keyframe every 2 s (about 4 s to encode)."""
    return write_video(tmp_path_factory.mktemp("bench") / "clip720p.mp4", seconds=60, width=1280, height=720)
