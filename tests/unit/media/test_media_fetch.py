"""Downloads against a loopback server; no traffic leaves 127.0.0.1."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from medialens.config import Settings
from medialens.media import fetch, ssrf
from medialens.media.errors import BlockedURLError, FetchError, TooLargeError

PAYLOAD_BYTE = b"m"  # what the conftest server sends


def test_fetch_bytes_returns_body(server_url: str, settings: Settings) -> None:
    assert fetch.fetch_bytes(f"{server_url}/bytes/1000", max_bytes=1000, settings=settings) == PAYLOAD_BYTE * 1000


def test_fetch_without_content_length(server_url: str, settings: Settings) -> None:
    assert fetch.fetch_bytes(f"{server_url}/nolength/5000", max_bytes=5000, settings=settings) == (PAYLOAD_BYTE * 5000)


def test_http_status_error_matches_pai_text(server_url: str, settings: Settings) -> None:
    with pytest.raises(FetchError) as info:
        fetch.fetch_bytes(f"{server_url}/status/404", max_bytes=100, settings=settings)
    assert str(info.value) == "fetch resource failed\tcode = 404"
    assert info.value.status == 404


def test_server_error_status(server_url: str, settings: Settings) -> None:
    with pytest.raises(FetchError, match="code = 503") as info:
        fetch.fetch_bytes(f"{server_url}/status/503", max_bytes=100, settings=settings)
    assert info.value.status == 503


def test_too_large_by_content_length_is_refused_before_reading(server_url: str, settings: Settings) -> None:
    with pytest.raises(TooLargeError, match="limit of 999 bytes"):
        fetch.fetch_bytes(f"{server_url}/bytes/1000", max_bytes=999, settings=settings)
    # the server announces 1 TB and sends nothing: only the header check can end this quickly
    with pytest.raises(TooLargeError):
        fetch.fetch_bytes(f"{server_url}/huge-length", max_bytes=10_000, settings=settings)


def test_too_large_without_content_length_stops_while_streaming(server_url: str, settings: Settings) -> None:
    with pytest.raises(TooLargeError):
        fetch.fetch_bytes(f"{server_url}/nolength/200000", max_bytes=100_000, settings=settings)


def test_redirect_chain_within_limit_is_followed(http_server, server_url: str, settings: Settings) -> None:
    body = fetch.fetch_bytes(f"{server_url}/redirect/3", max_bytes=1000, settings=settings)
    assert body == PAYLOAD_BYTE * 100
    assert http_server.paths == ["/redirect/3", "/redirect/2", "/redirect/1", "/redirect/0"]


def test_redirect_chain_over_limit_fails(http_server, server_url: str, settings: Settings) -> None:
    with pytest.raises(FetchError, match="too many redirects") as info:
        fetch.fetch_bytes(f"{server_url}/redirect/4", max_bytes=1000, settings=settings)
    assert info.value.status is None
    assert len(http_server.paths) == settings.fetch_max_redirects + 1


def test_absolute_redirect_is_followed(server_url: str, settings: Settings) -> None:
    target = quote(f"{server_url}/bytes/7", safe="")
    assert fetch.fetch_bytes(f"{server_url}/redirect-to?url={target}", max_bytes=10, settings=settings) == (
        PAYLOAD_BYTE * 7
    )


def test_redirect_to_other_scheme_is_blocked(server_url: str, settings: Settings) -> None:
    with pytest.raises(BlockedURLError, match="scheme"):
        fetch.fetch_bytes(f"{server_url}/redirect-to?url=file:///etc/passwd", max_bytes=10, settings=settings)


@pytest.fixture
def public_alias(monkeypatch: pytest.MonkeyPatch, http_server) -> str:
    """``media.test`` passes the SSRF check (as a public host would) but its vetted IP is the test server.

    DNS for it always fails, so a request that reaches the server proves the connection used the vetted IP
    rather than resolving the name again (the DNS-rebinding window).
    """
    real_check = ssrf.check_host
    real_getaddrinfo = socket.getaddrinfo

    def check_host(host: str, port: int, *, allow_private: bool) -> list[str]:
        if host == "media.test":
            return ["127.0.0.1"]
        return real_check(host, port, allow_private=allow_private)

    def getaddrinfo(host, *args, **kwargs):
        if host == "media.test":
            raise socket.gaierror(socket.EAI_NONAME, "rebinding attempt")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(ssrf, "check_host", check_host)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return f"http://media.test:{http_server.server_address[1]}"


def test_connection_is_pinned_to_vetted_ip_with_real_host_header(public_alias: str, settings: Settings) -> None:
    private_off = settings.model_copy(update={"allow_private_urls": False})
    port = public_alias.rsplit(":", 1)[1]
    assert fetch.fetch_bytes(f"{public_alias}/echo-host", max_bytes=100, settings=private_off) == (
        f"media.test:{port}".encode()
    )


def test_redirect_to_loopback_is_refused(http_server, public_alias: str, settings: Settings) -> None:
    private_off = settings.model_copy(update={"allow_private_urls": False})
    target = quote(f"http://127.0.0.1:{http_server.server_address[1]}/bytes/10", safe="")
    with pytest.raises(BlockedURLError, match="private address"):
        fetch.fetch_bytes(f"{public_alias}/redirect-to?url={target}", max_bytes=100, settings=private_off)
    assert all(not p.startswith("/bytes") for p in http_server.paths)  # the target was never contacted


def test_relative_redirect_keeps_the_pinned_host(http_server, public_alias: str, settings: Settings) -> None:
    private_off = settings.model_copy(update={"allow_private_urls": False})
    body = fetch.fetch_bytes(f"{public_alias}/redirect/2", max_bytes=1000, settings=private_off)
    assert body == PAYLOAD_BYTE * 100


def test_loopback_url_refused_when_private_not_allowed(server_url: str, settings: Settings) -> None:
    private_off = settings.model_copy(update={"allow_private_urls": False})
    with pytest.raises(BlockedURLError):
        fetch.fetch_bytes(f"{server_url}/bytes/1", max_bytes=10, settings=private_off)


def test_https_sends_sni_and_host_for_the_name_but_connects_to_the_ip(
    monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    monkeypatch.setattr(ssrf, "check_host", lambda host, port, *, allow_private: ["203.0.113.9"])
    seen: list[httpx.Request] = []

    def send(self, request: httpx.Request, **kwargs) -> httpx.Response:
        seen.append(request)
        raise httpx.ConnectError("refused", request=request)

    monkeypatch.setattr(httpx.Client, "send", send)
    with pytest.raises(FetchError, match="could not connect"):
        fetch.fetch_bytes("https://cdn.example.test/v.mp4", max_bytes=10, settings=settings)
    (request,) = seen
    assert request.url.host == "203.0.113.9"
    assert request.headers["host"] == "cdn.example.test"
    assert request.extensions["sni_hostname"] == "cdn.example.test"


def test_read_timeout_waiting_for_headers(server_url: str, settings: Settings) -> None:
    with pytest.raises(FetchError, match="timed out") as info:
        fetch.fetch_bytes(f"{server_url}/slow-headers", max_bytes=100, settings=settings)
    assert info.value.status is None


def test_read_timeout_mid_body(server_url: str, settings: Settings) -> None:
    with pytest.raises(FetchError, match="timed out"):
        fetch.fetch_bytes(f"{server_url}/slow-body", max_bytes=100, settings=settings)


def test_a_trickling_host_is_cut_off_at_the_whole_download_deadline(
    server_url: str, settings: Settings, tmp_path: Path
) -> None:
    # each byte arrives well inside the 0.3 s read timeout; only the total deadline can stop it
    settings = settings.model_copy(update={"fetch_total_timeout_s": 0.8})
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"too slow: the download took longer than 0\.8 s"):
        fetch.fetch_to_file(f"{server_url}/trickle/100", tmp_path / "v", max_bytes=1000, settings=settings)
    assert time.monotonic() - started < 0.8 + settings.fetch_read_timeout_s + 0.5
    assert list(tmp_path.iterdir()) == []
    assert fetch.fetch_bytes(f"{server_url}/trickle/3", max_bytes=1000, settings=settings) == b"mmm"


def test_connection_refused(settings: Settings) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(FetchError) as info:
        fetch.fetch_bytes(f"http://127.0.0.1:{port}/x", max_bytes=10, settings=settings)
    assert str(info.value) == "could not connect to the media host"
    assert info.value.status is None


def test_dns_failure(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    def getaddrinfo(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    with pytest.raises(FetchError, match=r"could not resolve host no-such-host\.invalid") as info:
        fetch.fetch_bytes("http://no-such-host.invalid/a.jpg", max_bytes=10, settings=settings)
    assert info.value.status is None
    assert "Traceback" not in str(info.value)


def test_fetch_to_file_writes_atomically(server_url: str, settings: Settings, tmp_path: Path) -> None:
    dest = tmp_path / "in" / "video.mp4"
    assert fetch.fetch_to_file(f"{server_url}/bytes/4096", dest, max_bytes=5000, settings=settings) == dest
    assert dest.read_bytes() == PAYLOAD_BYTE * 4096
    assert [p.name for p in dest.parent.iterdir()] == ["video.mp4"]


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("/nolength/200000", TooLargeError),
        ("/status/404", FetchError),
        ("/slow-body", FetchError),
        ("/redirect/9", FetchError),
    ],
)
def test_fetch_to_file_leaves_nothing_behind_on_error(
    server_url: str, settings: Settings, tmp_path: Path, path: str, error: type[Exception]
) -> None:
    dest = tmp_path / "video.mp4"
    with pytest.raises(error):
        fetch.fetch_to_file(f"{server_url}{path}", dest, max_bytes=100_000, settings=settings)
    assert list(tmp_path.iterdir()) == []
