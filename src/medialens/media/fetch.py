"""Download client-supplied media URLs safely, synchronously (called from worker threads).

Why it is hand-rolled around httpx rather than ``follow_redirects=True``:

* every hop (the first URL and each redirect target) goes through :func:`medialens.media.ssrf.vet_url`;
* each hop connects to the address that was vetted, not to whatever DNS says a moment later (DNS rebinding).
  The request URL carries the IP, the ``Host`` header carries the real host, and for https the
  ``sni_hostname`` request extension makes httpcore send SNI and verify the certificate for the real host;
* a fresh client per hop, so a pooled TLS connection verified for one host is never reused for another
  host that happens to share its IP;
* ``trust_env=False``: environment proxies would connect on our behalf and bypass the pinning;
* the body is streamed and counted, so a lying or missing Content-Length cannot make us hold more than
  ``max_bytes``;
* besides the per-connect and per-read timeouts, the whole download (redirects included) must end within
  ``fetch_total_timeout_s``: a server trickling bytes just under the read timeout cannot hold a worker for long.
  The deadline is checked between reads, so it may be overrun by at most one read timeout.
"""

from __future__ import annotations

import contextlib
import functools
import os
import ssl
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import certifi
import httpx

from medialens.config import Settings
from medialens.media.errors import FetchError, TooLargeError
from medialens.media.ssrf import VettedURL, vet_url

_REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
_MAX_ADDRESSES = 3  # addresses tried per hop before giving up on connecting
_HEADERS = {"User-Agent": "medialens", "Accept-Encoding": "identity", "Accept": "*/*"}


class _Deadline:
    """When the whole download must be over."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self.at:
            raise FetchError(f"the media host is too slow: the download took longer than {self.seconds:g} s")


def fetch_bytes(url: str, *, max_bytes: int, settings: Settings) -> bytes:
    """Download ``url`` into memory; TooLargeError as soon as more than ``max_bytes`` arrive."""
    buf = bytearray()
    deadline = _Deadline(settings.fetch_total_timeout_s)
    with _translate_errors(), _open(url, settings, deadline) as response:
        for chunk in _limited(response, max_bytes, deadline):
            buf += chunk
    return bytes(buf)


def fetch_to_file(url: str, dest: Path, *, max_bytes: int, settings: Settings) -> Path:
    """Download ``url`` to ``dest`` via a temp file in the same folder, so ``dest`` is never half-written."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    deadline = _Deadline(settings.fetch_total_timeout_s)
    try:
        with os.fdopen(fd, "wb") as out, _translate_errors(), _open(url, settings, deadline) as response:
            for chunk in _limited(response, max_bytes, deadline):
                out.write(chunk)
        tmp.replace(dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return dest


@contextlib.contextmanager
def _open(url: str, settings: Settings, deadline: _Deadline) -> Iterator[httpx.Response]:
    """Yield the final 2xx streaming response after following at most ``fetch_max_redirects`` redirects."""
    target: str | httpx.URL = url
    for _hop in range(settings.fetch_max_redirects + 1):
        deadline.check()
        vetted = vet_url(target, allow_private=settings.allow_private_urls)
        with _client(settings) as client, contextlib.closing(_send(client, vetted)) as response:
            location = response.headers.get("location")
            if response.status_code in _REDIRECT_CODES and location:
                target = _join(vetted.url, location)
                continue
            if not response.is_success:
                status = response.status_code
                raise FetchError(f"fetch resource failed\tcode = {status}", status=status)
            yield response
            return
    raise FetchError(f"too many redirects (limit {settings.fetch_max_redirects})")


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One verifying TLS context for every fetch: building it loads the CA bundle (~30 ms), too slow per request."""
    return ssl.create_default_context(cafile=certifi.where())


def _client(settings: Settings) -> httpx.Client:
    timeout = httpx.Timeout(
        connect=settings.fetch_connect_timeout_s,
        read=settings.fetch_read_timeout_s,
        write=settings.fetch_read_timeout_s,
        pool=settings.fetch_connect_timeout_s,
    )
    return httpx.Client(
        timeout=timeout, follow_redirects=False, trust_env=False, headers=_HEADERS, verify=_tls_context()
    )


def _send(client: httpx.Client, vetted: VettedURL) -> httpx.Response:
    """Send the GET to the vetted IPs in turn (connect failures only), keeping the real host for Host/SNI."""
    extensions = {"sni_hostname": vetted.host} if vetted.url.scheme == "https" else {}
    headers = {"Host": vetted.url.netloc.decode("ascii")}
    last_err: httpx.TransportError | None = None
    for ip in vetted.ips[:_MAX_ADDRESSES]:
        request = client.build_request("GET", vetted.url.copy_with(host=ip), headers=headers, extensions=extensions)
        try:
            return client.send(request, stream=True)
        except (httpx.ConnectError, httpx.ConnectTimeout) as err:
            last_err = err
    assert last_err is not None  # vet_url never returns an empty address list
    raise last_err


def _join(base: httpx.URL, location: str) -> httpx.URL:
    try:
        return base.join(location)
    except (httpx.InvalidURL, ValueError) as err:
        raise FetchError("redirect location is not a valid url") from err


def _limited(response: httpx.Response, max_bytes: int, deadline: _Deadline) -> Iterator[bytes]:
    """Yield body chunks, refusing up front on Content-Length and again once the count passes the limit or the
    download outlives its deadline."""
    declared = response.headers.get("content-length", "")
    if declared.strip().isdigit() and int(declared) > max_bytes:
        raise TooLargeError(f"media is larger than the limit of {max_bytes} bytes")
    total = 0
    for chunk in response.iter_bytes():
        total += len(chunk)
        if total > max_bytes:
            raise TooLargeError(f"media is larger than the limit of {max_bytes} bytes")
        deadline.check()
        yield chunk


@contextlib.contextmanager
def _translate_errors() -> Iterator[None]:
    """Turn httpx transport errors into short FetchError messages a client can be shown."""
    try:
        yield
    except httpx.ConnectTimeout as err:
        raise FetchError("connection to the media host timed out") from err
    except httpx.TimeoutException as err:
        raise FetchError("the media host stopped responding (read timed out)") from err
    except httpx.ConnectError as err:
        raise FetchError("could not connect to the media host") from err
    except httpx.DecodingError as err:
        raise FetchError("the media host sent a malformed response") from err
    except httpx.InvalidURL as err:
        raise FetchError("url is not valid") from err
    except httpx.TransportError as err:
        raise FetchError("connection to the media host failed") from err
