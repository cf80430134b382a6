"""The SSRF guard: literals need no network, names are faked through ``socket.getaddrinfo``."""

from __future__ import annotations

import socket

import pytest

from medialens.media import ssrf
from medialens.media.errors import BlockedURLError, FetchError

BLOCKED = [
    "127.0.0.1",  # loopback
    "10.0.0.1",  # private
    "172.16.5.4",
    "192.168.1.1",
    "169.254.169.254",  # link-local: cloud metadata
    "100.64.0.1",  # carrier-grade NAT, not global
    "224.0.0.1",  # multicast
    "0.0.0.0",  # unspecified
    "240.0.0.1",  # reserved
    "255.255.255.255",
    "::1",
    "::",
    "::ffff:127.0.0.1",  # IPv4-mapped loopback
    "::ffff:169.254.169.254",
    "fe80::1",  # link-local
    "fc00::1",  # unique local
    "fec0::1",  # deprecated site-local
    "ff02::1",  # multicast
    "2002:7f00:1::1",  # 6to4 wrapping 127.0.0.1
    "64:ff9b::7f00:1",  # NAT64 prefix
]
PUBLIC = ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"]


@pytest.mark.parametrize("ip", BLOCKED)
def test_check_host_blocks_non_public_literals(ip: str) -> None:
    with pytest.raises(BlockedURLError, match="private address"):
        ssrf.check_host(ip, 80, allow_private=False)


@pytest.mark.parametrize("ip", BLOCKED[:6])
def test_allow_private_returns_the_address(ip: str) -> None:
    assert ssrf.check_host(ip, 80, allow_private=True) == [ip]


@pytest.mark.parametrize("ip", PUBLIC)
def test_public_literals_pass(ip: str) -> None:
    assert ssrf.check_host(ip, 443, allow_private=False) == [ip]


def _fake_dns(monkeypatch: pytest.MonkeyPatch, table: dict[str, list[str]]) -> None:
    def getaddrinfo(host: str, port: int, *args: object, **kwargs: object) -> list[tuple]:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))
            for ip in table[host]
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_any_private_address_among_many_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_dns(monkeypatch, {"mixed.test": ["93.184.216.34", "10.1.2.3"]})
    with pytest.raises(BlockedURLError):
        ssrf.check_host("mixed.test", 80, allow_private=False)


def test_names_resolve_to_all_addresses_deduplicated(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_dns(monkeypatch, {"cdn.test": ["93.184.216.34", "93.184.216.34", "2606:4700:4700::1111"]})
    assert ssrf.check_host("cdn.test", 80, allow_private=False) == ["93.184.216.34", "2606:4700:4700::1111"]


def test_unresolvable_host_is_a_fetch_error_not_blocked(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_dns(monkeypatch, {})
    with pytest.raises(FetchError, match=r"could not resolve host nowhere\.test") as info:
        ssrf.check_host("nowhere.test", 80, allow_private=False)
    assert not isinstance(info.value, BlockedURLError)
    assert info.value.status is None


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://93.184.216.34/a.jpg", "scheme"),
        ("file:///etc/passwd", "scheme"),
        ("gopher://93.184.216.34/", "scheme"),
        ("javascript:alert(1)", "scheme"),
        ("http://user:pw@93.184.216.34/a.jpg", "credentials"),
        ("http://93.184.216.34@127.0.0.1/", "credentials"),
        ("http:///no-host", "host"),
        ("http://[::1/", "not valid"),
    ],
)
def test_vet_url_rejects_bad_shapes(url: str, reason: str) -> None:
    with pytest.raises(BlockedURLError, match=reason):
        ssrf.vet_url(url, allow_private=True)


def test_vet_url_returns_host_port_and_ips() -> None:
    vetted = ssrf.vet_url("https://93.184.216.34/x.png", allow_private=False)
    assert (vetted.host, vetted.port, vetted.ips) == ("93.184.216.34", 443, ["93.184.216.34"])
    vetted = ssrf.vet_url("http://[2606:4700:4700::1111]:8080/", allow_private=False)
    assert (vetted.host, vetted.port) == ("2606:4700:4700::1111", 8080)


def test_vet_url_blocks_private_literal_url() -> None:
    with pytest.raises(BlockedURLError):
        ssrf.vet_url("http://169.254.169.254/latest/meta-data/", allow_private=False)


def test_idn_host_is_resolved_in_its_ascii_form(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_dns(monkeypatch, {"xn--exmple-cua.com": ["93.184.216.34"]})
    vetted = ssrf.vet_url("https://exämple.com/a.jpg", allow_private=False)
    assert (vetted.host, vetted.ips) == ("xn--exmple-cua.com", ["93.184.216.34"])
