"""A corpus of hostile and broken input against a live server: each gets PAI's clear error, the server lives on.

Images are ImageQA calls (synchronous: 400 PARAMETER_ERROR with a readable message); videos are VideoQA jobs
(state 3 with a readable message). Bodies the official client cannot send go out as raw signed HTTP. Private
addresses are tried against a second server that keeps ``allow_private_urls`` at its default (off).
"""

from __future__ import annotations

import fractions
import json
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import av
import httpx
import numpy as np
import pytest
from ai_service_python_sdk.client.api.ai_service_image_api import AiServiceImageApi
from ai_service_python_sdk.client.api.ai_service_job_api import AiServiceJobApi
from ai_service_python_sdk.client.api.ai_service_video_api import AiServiceVideoApi
from ai_service_python_sdk.client.api_client import ApiClient
from ai_service_python_sdk.client.rest import ApiException

from medialens.protocols.pai.auth import authorization_header
from tests.conftest import MEDIA
from tests.e2e.test_pai_quality import poll_job
from tests.support import LiveServer, QuietHandler, live_server, media_server

VIDEO_MAX_BYTES = 2_000_000  # low, so a 2.8 MB clip is "too large" without serving 100 MB
SCHEMES = ["file:///etc/passwd", "ftp://127.0.0.1/a.png", "gopher://127.0.0.1:70/_x", "data:image/png;base64,iVBO"]
SCHEMES += ["javascript:alert(1)", "not a url at all"]


# --- the corpus ---------------------------------------------------------------------------------------------------


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _png(width: int, height: int, idat: bytes, color_type: int = 2) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    chunks = _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


def decompression_bomb(side: int = 10_000) -> bytes:
    """A ~100 kB grayscale PNG whose pixels would take 100 MB (side x side zeros)."""
    z = zlib.compressobj(9)
    row = b"\x00" * (side + 1)  # filter byte + pixels
    return _png(side, side, b"".join(z.compress(row) for _ in range(side)) + z.flush(), color_type=0)


def synthetic_video(path: Path, *, size: tuple[int, int], pts: tuple[int, ...]) -> Path:
    """MPEG-4 frames at the given presentation times (seconds): huge gaps make a tiny file claim hours."""
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=1)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = fractions.Fraction(1, 1)
        for i, t in enumerate(pts):
            frame = av.VideoFrame.from_ndarray(np.full((size[1], size[0], 3), 40 * i, np.uint8), format="rgb24")
            frame.pts, frame.time_base = t, fractions.Fraction(1, 1)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def mangle_moov(data: bytes) -> bytes:
    """Scramble the first 400 bytes after the ``moov`` atom's type (its mvhd/trak headers)."""
    start = data.index(b"moov") + 4
    out = bytearray(data)
    for i in range(start, min(len(out), start + 400)):
        out[i] ^= 0x5A
    return bytes(out)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bad-media")
    cat = (MEDIA / "image" / "skimage_cat_chelsea.png").read_bytes()
    mp4 = (MEDIA / "video" / "basketball_gym.mp4").read_bytes()  # moov at the end
    moov_first = (MEDIA / "video" / "intel_cars_parking_lot.mp4").read_bytes()  # moov first, 2.8 MB
    files = {
        "good.png": cat,
        "empty.png": b"",
        "truncated.png": cat[: len(cat) // 3],
        "header_only.png": cat[:60],
        "clip_named.jpg": mp4,  # an MP4 named .jpg
        "text.jpg": b"this is not an image\n" * 20,
        "bomb.png": decompression_bomb(),
        "claims_100k_square.png": _png(100_000, 100_000, zlib.compress(b"\x00" * 64)),
        "too_big.png": cat + b"\x00" * (5 * 1024 * 1024),  # over image_max_bytes (5 MiB)
        "empty.mp4": b"",
        "head_only.mp4": mp4[:2000],
        "half.mp4": moov_first[: len(moov_first) // 2],
        "text.mp4": b"this is not a video\n" * 50,
        "cat_named.mp4": cat,  # a PNG named .mp4
        "corrupt_moov.mp4": mangle_moov(mp4),
        "too_big.mp4": moov_first,  # over VIDEO_MAX_BYTES
    }
    for name, data in files.items():
        (root / name).write_bytes(data)
    synthetic_video(root / "hours_long.mp4", size=(320, 240), pts=(0, 10_000, 20_000))  # claims 5.5 h
    synthetic_video(root / "tiny.mp4", size=(64, 48), pts=(0, 1, 2))
    return root


class _Handler(QuietHandler):
    """Static files, plus ``/redirect?to=URL`` and an endless ``/loop``."""

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path == "/redirect":
            return self._redirect(parse_qs(parts.query)["to"][0])
        if parts.path == "/loop":
            return self._redirect("/loop")
        return super().do_GET()

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture(scope="module")
def media(corpus: Path) -> Iterator[str]:
    with media_server(corpus, _Handler) as base:
        yield base


@dataclass
class Target:
    server: LiveServer
    client: ApiClient
    credentials: tuple[str, str]


@contextmanager
def _started(srv: LiveServer, name: str) -> Iterator[Target]:
    srv.start()
    try:
        creds = srv.create_app(name)
        yield Target(srv, ApiClient(srv.base_url, *creds), creds)
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def lax(tmp_path_factory: pytest.TempPathFactory, models: Path) -> Iterator[Target]:
    """Loopback media allowed (the corpus is served there), low video byte limit."""
    srv = live_server(
        tmp_path_factory.mktemp("bad-lax"), allow_private_urls="true", video_max_bytes=str(VIDEO_MAX_BYTES)
    )
    with _started(srv, "bad-input") as target:
        yield target


@pytest.fixture(scope="module")
def lax_cluster(tmp_path_factory: pytest.TempPathFactory, models: Path) -> Iterator[Target]:
    """The same as ``lax`` as a cluster: executor=celery over the machine's Redis and PostgreSQL, one worker.
    Images are analysed on the worker and its errors cross Redis; videos are jobs on the worker."""
    from tests.conftest import POSTGRES_URL, require_service, skip_unless_ci
    from tests.integration.cluster import Cluster, free_redis_db, postgres_schema

    require_service("127.0.0.1", 5432, "PostgreSQL")
    require_service("127.0.0.1", 6379, "Redis")
    with postgres_schema(POSTGRES_URL) as db_url, free_redis_db() as broker_url:
        if broker_url is None:
            skip_unless_ci("no empty Redis database to use")
        cluster = Cluster(
            tmp_path_factory.mktemp("bad-cluster"),
            database_url=db_url,
            broker_url=broker_url,
            video_max_bytes=str(VIDEO_MAX_BYTES),
            sync_timeout_s="30",
        )
        try:
            cluster.api.start()
            cluster.start_worker(concurrency=2)
            cluster.wait_workers_ready()
            creds = cluster.api.create_app("bad-cluster")
            yield Target(cluster.api, ApiClient(cluster.api.base_url, *creds), creds)
        finally:
            cluster.stop()


LAX_TARGETS = pytest.mark.parametrize("target_name", ["lax", "lax_cluster"])


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory, models: Path) -> Iterator[Target]:
    """Defaults: private, loopback and link-local addresses are refused."""
    with _started(live_server(tmp_path_factory.mktemp("bad-strict")), "bad-strict") as target:
        yield target


# --- checks ---------------------------------------------------------------------------------------------------------


def assert_clear(message: str, *private: str) -> None:
    """A message for a human: present, short, and free of tracebacks and of the server's own file paths."""
    assert message and len(message) < 300, message
    for leak in ("Traceback", 'File "', ".py", "site-packages", "/tmp/", "Errno", *private):
        assert leak not in message, (leak, message)


def image_error(target: Target, url: str) -> tuple[int, dict]:
    with pytest.raises(ApiException) as exc:
        AiServiceImageApi(target.client).image_qa(url, "", {})
    body = json.loads(exc.value.body)
    assert set(body) == {"request_id", "code", "message", "data"}
    assert body["code"] == "PARAMETER_ERROR" and body["data"] is None, body
    assert_clear(body["message"], target.server.env["MEDIALENS_DATA_DIR"])
    return exc.value.status, body


def still_serving(target: Target, media: str) -> None:
    """The process is up and a good request still gets a good answer."""
    assert httpx.get(f"{target.server.base_url}/healthz", timeout=5).json() == {"status": "ok"}
    if target.server.env.get("MEDIALENS_ALLOW_PRIVATE_URLS") == "true":
        data = AiServiceImageApi(target.client).image_qa(f"{media}/good.png", "", {}).data
        assert (data["image_width"], data["image_height"]) == (451, 300)


def signed(target: Target, method: str, path: str, raw: bytes, wire_path: str | None = None) -> httpx.Response:
    """A raw request signed as the SDK signs: over the exact bytes sent and the (decoded) path."""
    auth = authorization_header(*target.credentials, method, path, raw)
    headers = {"Authorization": auth, "Content-Type": "application/json"}
    url = f"{target.server.base_url}{wire_path or path}"
    return httpx.request(method, url, content=raw, headers=headers, timeout=30)


def envelope(response: httpx.Response) -> dict:
    body = response.json()
    assert set(body) == {"request_id", "code", "message", "data"}, body
    return body


# --- images -----------------------------------------------------------------------------------------------------

BAD_IMAGES = [
    ("empty.png", "image could not be decoded: empty data"),
    ("truncated.png", "image could not be decoded: image file is truncated"),
    ("header_only.png", "image could not be decoded"),
    ("clip_named.jpg", "image could not be decoded: unknown or unsupported format"),
    ("text.jpg", "image could not be decoded: unknown or unsupported format"),
    ("bomb.png", "image resolution 10000x10000 is above the limit of 60000000 pixels"),
    ("claims_100k_square.png", "above the limit of 60000000 pixels"),
    ("too_big.png", "larger than the limit of 5242880 bytes"),
    ("loop", "failed to download image, err=too many redirects (limit 3)"),
    ("redirect?to=file:///etc/passwd", "failed to download image, err=url scheme must be http or https"),
    ("missing.png", "failed to download image, err=fetch resource failed\tcode = 404"),
]


@LAX_TARGETS
def test_broken_images_are_clear_400s(request: pytest.FixtureRequest, target_name: str, media: str) -> None:
    lax: Target = request.getfixturevalue(target_name)
    for name, expected in BAD_IMAGES:
        status, body = image_error(lax, f"{media}/{name}")
        assert status == 400 and expected in body["message"], (name, body)
    for url in SCHEMES:
        status, body = image_error(lax, url)
        assert (status, body["message"]) == (400, "failed to download image, err=url scheme must be http or https")
    status, body = image_error(lax, media.replace("://", "://user:pw@") + "/good.png")
    assert body["message"] == "failed to download image, err=url must not contain credentials"
    still_serving(lax, media)


# --- videos --------------------------------------------------------------------------------------------------------

BAD_VIDEOS = [
    ("empty.mp4", "video could not be decoded: empty file"),
    ("head_only.mp4", "video could not be decoded"),
    ("text.mp4", "video could not be decoded"),
    ("cat_named.mp4", "video could not be decoded: the file is a still image, not a video"),
    ("corrupt_moov.mp4", "video could not be decoded"),
    ("hours_long.mp4", "is above the limit of 10800s"),
    ("tiny.mp4", "video resolution 64x48 is below the minimum 320x240"),
    ("too_big.mp4", f"larger than the limit of {VIDEO_MAX_BYTES} bytes"),
    ("loop", "failed to download video, err=too many redirects (limit 3)"),
    ("redirect?to=file:///etc/passwd", "failed to download video, err=url scheme must be http or https"),
]


@LAX_TARGETS
def test_broken_videos_fail_their_jobs_clearly(request: pytest.FixtureRequest, target_name: str, media: str) -> None:
    lax: Target = request.getfixturevalue(target_name)
    api = AiServiceVideoApi(lax.client)
    cases = [(f"{media}/{name}", expected) for name, expected in BAD_VIDEOS]
    cases += [(url, "failed to download video, err=url scheme must be http or https") for url in SCHEMES[:3]]
    jobs = [(api.video_qa(url, "", "", {}).data["job_id"], url, expected) for url, expected in cases]
    half = api.video_qa(f"{media}/half.mp4", "", "", {}).data["job_id"]
    for job_id, url, expected in jobs:
        job = poll_job(lax.client, job_id, timeout=60)
        assert job["state"] == 3 and job["Result"] == "", (url, job)
        assert expected in job["message"], (url, job["message"])
        assert_clear(job["message"], lax.server.env["MEDIALENS_DATA_DIR"])
    # Half a file whose index comes first still decodes up to the cut: a result or a clean failure, never a crash.
    job = poll_job(lax.client, half, timeout=60)
    assert job["state"] in (2, 3), job
    if job["state"] == 3:
        assert_clear(job["message"])
    still_serving(lax, media)


# --- bodies the SDK cannot send -------------------------------------------------------------------------------------


def test_non_utf8_and_oversized_bodies(lax: Target, media: str) -> None:
    for path, raw in [
        ("/api/v1/images", b'{"action": "ImageQA", "image": "http://x/\xff\xfe.png", "model_name": ""}'),
        ("/api/v1/videos", b'{"action": "VideoQA", "video_url": "http://x/a.mp4", "video_title": "caf\xe9"}'),
        ("/api/v1/batch_videos", b'{"action": "VideoQA", "videos": [{"url": "http://x/\xc3"}]}'),
    ]:
        r = signed(lax, "POST", path, raw)
        body = envelope(r)
        assert (r.status_code, body["code"]) == (400, "PARAMETER_ERROR"), body
        assert "invalid UTF-8" in body["message"], body
        assert_clear(body["message"])
    for path, raw, message in [  # JSON that Python's parser takes but PostgreSQL could not store
        ("/api/v1/videos", b'{"action": "VideoQA", "video_url": "http://x/a", "configure": {"n": NaN}}', "finite"),
        ("/api/v1/videos", b'{"action": "VideoQA", "video_url": "http://x/a", "configure": {"n": 1e999}}', "finite"),
        ("/api/v1/videos", b'{"action": "VideoQA", "video_url": "http://x/\\u0000.mp4"}', "not a valid url"),
        ("/api/v1/batch_videos", b'{"action": "VideoQA", "videos": [null]}', "video url is empty"),
    ]:
        r = signed(lax, "POST", path, raw)
        assert r.status_code == 400 and message in envelope(r)["message"], (raw, r.text)
    big = b'{"action": "ImageQA", "image": "' + b"a" * 2_000_000 + b'"}'
    r = signed(lax, "POST", "/api/v1/images", big)
    assert r.status_code == 413 and envelope(r)["message"] == "request body too large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit must hold while streaming
        yield b'{"action": "VideoQA", "video_url": "'
        for _ in range(40):
            yield b"v" * 65536
        yield b'"}'

    auth = authorization_header(*lax.credentials, "POST", "/api/v1/videos", b"")
    r = httpx.post(f"{lax.server.base_url}/api/v1/videos", content=chunks(), headers={"Authorization": auth})
    assert r.status_code == 413 and envelope(r)["message"] == "request body too large"
    r = signed(lax, "POST", "/api/v1/videos", b"[" * 100_000 + b"]" * 100_000)
    assert r.status_code == 400 and envelope(r)["message"].startswith("Syntax error")
    still_serving(lax, media)


# --- job ids -----------------------------------------------------------------------------------------------------


def test_garbage_job_ids(lax: Target, media: str) -> None:
    jobs = AiServiceJobApi(lax.client)
    for job_id in ("abc", "-1", "1.5", str(10**30), "0x10", "1e3"):
        for call, what in ((jobs.get_async_job, "job id"), (jobs.get_batch_job_with_id, "batch id")):
            with pytest.raises(ApiException) as exc:
                call(job_id)
            body = json.loads(exc.value.body)
            assert (exc.value.status, body["code"]) == (400, "PARAMETER_ERROR"), (job_id, body)
            assert body["message"].startswith(f"invalid {what}: "), body
    for job_id in ("0", "999999999999999999"):
        with pytest.raises(ApiException) as exc:
            jobs.get_async_job(job_id)
        assert exc.value.status == 404
    for raw_id in ("%C2%B2", "%D9%A1%D9%A2", "%00", "%20", "1%0A"):  # "²", "١٢": unicode digits; control bytes
        path = f"/api/v1/async_jobs/{raw_id}"
        r = signed(lax, "POST", unquote(path), b"{}", wire_path=path)
        assert r.status_code == 400 and envelope(r)["message"].startswith("invalid job id"), (raw_id, r.text)
    r = httpx.post(f"{lax.server.base_url}/api/v1/async_jobs/1/extra", content=b"{}")
    assert r.status_code == 401 and envelope(r)["code"] == "PARAMETER_ERROR"  # unsigned: credentials come first
    still_serving(lax, media)


# --- private addresses (strict server) ---------------------------------------------------------------------------


def test_private_addresses_and_redirects_are_refused(strict: Target, media: str) -> None:
    port = urlsplit(media).port
    urls = [
        f"{media}/good.png",
        f"http://localhost:{port}/good.png",
        f"http://[::1]:{port}/good.png",
        f"http://0.0.0.0:{port}/good.png",
        f"http://[::ffff:127.0.0.1]:{port}/good.png",
        f"http://2130706433:{port}/good.png",  # 127.0.0.1 as one decimal number
        f"http://127.1:{port}/good.png",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.11.12.13/a.png",
        "http://192.168.0.1/a.png",
        f"{media}/redirect?to=http://127.0.0.1:{port}/good.png",
    ]
    for url in urls:
        status, body = image_error(strict, url)
        assert (status, body["message"]) == (400, "failed to download image, err=url resolves to a private address")
    api = AiServiceVideoApi(strict.client)
    ids = [api.video_qa(url.replace("good.png", "tiny.mp4"), "", "", {}).data["job_id"] for url in urls[:4] + urls[-3:]]
    for job_id in ids:
        job = poll_job(strict.client, job_id, timeout=60)
        assert job["state"] == 3 and job["message"] == "failed to download video, err=url resolves to a private address"
    still_serving(strict, media)


def test_servers_logged_no_unexpected_errors(lax: Target, strict: Target, media: str) -> None:
    still_serving(lax, media)
    still_serving(strict, media)
    for target in (lax, strict):
        log = (Path(target.server.env["MEDIALENS_DATA_DIR"]) / "server.log").read_text(errors="replace")
        assert "Traceback" not in log, log[-3000:]


def test_the_cluster_logged_no_unexpected_errors(lax_cluster: Target, media: str) -> None:
    still_serving(lax_cluster, media)
    data_dir = Path(lax_cluster.server.env["MEDIALENS_DATA_DIR"])
    for log_file in (data_dir / "server.log", data_dir.parent / "worker-0.log"):
        log = log_file.read_text(errors="replace")
        assert "Traceback" not in log, (log_file.name, log[-3000:])
