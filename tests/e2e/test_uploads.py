"""Uploads stream to disk: an 80 MB multipart upload to a live server raises its peak memory by a few MB, not by
the upload's size, and one over the cap is refused with 413 in the native error shape while it streams."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.support import LiveServer

MB = 1024 * 1024


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def _multipart(size: int, boundary: str = "medialens-test-boundary") -> Iterator[bytes]:
    """A multipart body with one file part of ``size`` bytes, produced in 1 MB chunks (sent chunked)."""
    yield f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n'.encode()
    yield b"Content-Type: application/octet-stream\r\n\r\n"
    chunk = bytes(range(256)) * 4096
    for _ in range(size // MB):
        yield chunk
    yield f"\r\n--{boundary}--\r\n".encode()


def _post(server: LiveServer, credentials: tuple[str, str], size: int) -> httpx.Response:
    headers = {
        "Authorization": "Bearer {}:{}".format(*credentials),
        "Content-Type": "multipart/form-data; boundary=medialens-test-boundary",
    }
    return httpx.post(f"{server.base_url}/v1/media", headers=headers, content=_multipart(size), timeout=120)


def test_a_large_upload_is_not_held_in_memory(server: LiveServer, credentials: tuple[str, str]) -> None:
    assert server.proc is not None
    pid = server.proc.pid
    _post(server, credentials, 2 * MB)  # the route's code paths warmed up
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # the peak starts again from the current size
    before = _peak_rss_mb(pid)
    r = _post(server, credentials, 80 * MB)
    assert r.status_code == 201 and r.json()["size"] == 80 * MB, r.text
    grew = _peak_rss_mb(pid) - before
    assert grew < 24, f"peak memory grew by {grew:.0f} MB for an 80 MB upload"


def test_an_upload_over_the_cap_is_refused_while_it_streams(server: LiveServer, credentials: tuple[str, str]) -> None:
    r = _post(server, credentials, 101 * MB)  # video_max_bytes is 100 MB; no Content-Length: counted as read
    assert r.status_code == 413, r.text
    assert r.json()["error"]["code"] == "request_too_large"
