"""Server-side request forgery guard for media URLs supplied by clients.

A client-supplied URL must not let the service reach its own network (cloud metadata at 169.254.169.254,
databases on 10.x, admin ports on loopback). Every resolved address is checked, not just the first, because
an attacker controls which address the HTTP client would pick. The URL is parsed with ``httpx.URL`` so the
check and the request agree on what the host is.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from dataclasses import dataclass

import httpx

from medialens.media.errors import PRIVATE_URL_HINT, BlockedURLError, FetchError

log = logging.getLogger(__name__)
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_SCHEMES = {"http": 80, "https": 443}


@dataclass(frozen=True)
class VettedURL:
    """A parsed URL whose host resolved only to allowed addresses (``ips``, in resolver order)."""

    url: httpx.URL
    host: str
    port: int
    ips: list[str]


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 transition form carries (mapped, 6to4, Teredo client), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


def is_blocked_address(ip: IPAddress) -> bool:
    """True for addresses a fetch must not reach: anything that is not plainly public unicast."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            return True
        inner = _embedded_ipv4(ip)
        if inner is not None and is_blocked_address(inner):
            return True
        if ip.is_site_local:
            return True
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def check_host(host: str, port: int, *, allow_private: bool) -> list[str]:
    """Resolve ``host`` and return its addresses; raise BlockedURLError if any of them is non-public.

    With ``allow_private`` the addresses are returned unchecked (still resolved, so callers can pin them).
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as err:
        raise FetchError(f"could not resolve host {host}") from err
    ips: list[str] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        addr = str(sockaddr[0]).split("%", 1)[0]
        if addr not in ips:
            ips.append(addr)
    if not ips:
        raise FetchError(f"could not resolve host {host}")
    if not allow_private:
        for addr in ips:
            if is_blocked_address(ipaddress.ip_address(addr)):
                # The operator reads the log, the client the message: only the log names the address.
                log.warning("refused %s: resolves to private address %s; %s", host, addr, PRIVATE_URL_HINT)
                raise BlockedURLError("url resolves to a private address", hint=PRIVATE_URL_HINT)
    return ips


def parse_url(url: str | httpx.URL) -> httpx.URL:
    """Parse and shape-check a media URL: http(s) only, a host, no userinfo (``http://a.com@10.0.0.1/``)."""
    try:
        parsed = url if isinstance(url, httpx.URL) else httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as err:
        raise BlockedURLError("url is not valid") from err
    if parsed.scheme not in _SCHEMES:
        raise BlockedURLError("url scheme must be http or https")
    if not parsed.host:
        raise BlockedURLError("url has no host")
    if parsed.userinfo:
        raise BlockedURLError("url must not contain credentials")
    if "\\" in parsed.host or any(c.isspace() for c in parsed.host):
        raise BlockedURLError("url host is not valid")
    return parsed


def vet_url(url: str | httpx.URL, *, allow_private: bool) -> VettedURL:
    """Parse ``url`` and resolve its host through :func:`check_host`."""
    parsed = parse_url(url)
    port = parsed.port or _SCHEMES[parsed.scheme]
    # the IDNA-encoded form: what goes into Host/SNI must be the very name that was resolved
    host = parsed.raw_host.decode("ascii")
    ips = check_host(host, port, allow_private=allow_private)
    return VettedURL(url=parsed, host=host, port=port, ips=ips)
