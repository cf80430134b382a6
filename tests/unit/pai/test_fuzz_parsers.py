"""Property tests of the PAI surface: whatever arrives, no 5xx and always the four-key JSON envelope.

The app runs in-process (TestClient, lifespan on, no workers). Name resolution is replaced by a numeric-only
resolver that refuses every name, so no example ever reaches the network: image URLs fail fast with "could not
resolve host" (or are refused as private) instead of being fetched.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import math
import socket
import string
import urllib.parse
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text

from medialens.app import create_app
from medialens.config import Settings
from medialens.media import fetch, ssrf
from medialens.media.errors import BlockedURLError, FetchError
from medialens.protocols.pai.auth import authorization_header
from medialens.protocols.pai.gojson import GoJSONError, decode
from medialens.protocols.pai.schemas import BATCH_VIDEO_REQUEST, IMAGE_REQUEST, VIDEO_REQUEST
from medialens.store.apps import create_app as create_credentials
from tests import support
from tests.conftest import POSTGRES_URL, require_service

ENVELOPE = {"request_id", "code", "message", "data"}
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_real_getaddrinfo = socket.getaddrinfo


def _numeric_only_getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
    """Resolve IP literals only (never a DNS query); every name fails like an unknown host."""
    return _real_getaddrinfo(host, port, family, type, proto, flags | socket.AI_NUMERICHOST)


def _no_connect(_client: httpx.Client, vetted) -> httpx.Response:
    raise httpx.ConnectError(f"the fuzz tests never connect (to {vetted.ips})")


@pytest.fixture(scope="module")
def no_dns() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket, "getaddrinfo", _numeric_only_getaddrinfo)
        mp.setattr(fetch, "_send", _no_connect)  # a public literal passes the guard; still nothing goes out
        yield


@contextmanager
def _postgres_schema() -> Iterator[str]:
    """A throw-away schema on the test PostgreSQL; yields a URL whose search_path is that schema."""
    require_service("127.0.0.1", 5432, "PostgreSQL")
    schema = f"ml_fuzz_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def pai(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, no_dns) -> Iterator[tuple]:
    """(client, AppId, Token), on SQLite and on PostgreSQL (stricter: no NaN in json, no NUL in text).

    With the test models installed, requests get past the model lookup.
    """
    data_dir = tmp_path_factory.mktemp("fuzz")
    models = support.test_model_dir()
    model_dir = models if (models / "niqe").is_dir() else data_dir / "models"
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(_postgres_schema()) if request.param == "postgres" else None
        settings = Settings(
            data_dir=data_dir,
            database_url=url,
            model_dir=model_dir,
            fetch_connect_timeout_s=0.5,
            fetch_read_timeout_s=0.5,
        )
        app = create_app(settings, run_workers=False)
        with TestClient(app, raise_server_exceptions=False) as client:
            cred = create_credentials(app.state.core.db, "fuzz")
            yield client, cred.app_id, cred.token


# --- strategies --------------------------------------------------------------------------------------------------

FIELDS = ["action", "image", "model_name", "configure", "video_url", "video_title", "text", "images", "videos"]
FIELDS += ["url", "title", "Image", "ACTION", "VIDEO_URL"]
ACTIONS = ["ImageQA", "VideoQA", "OCRImage", "ClassifyLabelVideo", "", "imageqa"]
URLS = [
    "http://127.0.0.1:1/a.png",
    "http://10.0.0.1/x.jpg",
    "http://[::1]/v.mp4",
    "http://93.184.216.34/a.png",
    "http://no-such-host.invalid/a.png",
    "file:///etc/passwd",
    "ftp://example.com/a.png",
    "gopher://x",
    "http://user:pw@1.2.3.4/",
    "http://",
    "http://127.0.0.1/a\x00.mp4",
    "data:image/png;base64,AAAA",
    "",
]
no_surrogates = st.characters(exclude_categories=("Cs",))
texts = st.text(no_surrogates, max_size=30)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()  # NaN and Infinity too: json.dumps writes them as bare tokens, which are not JSON
    | texts
    | st.sampled_from(URLS + ACTIONS)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.sampled_from(FIELDS) | texts, children, max_size=4)
    ),
    max_leaves=12,
)


finite_json_values = st.recursive(
    scalars.filter(lambda v: not (isinstance(v, float) and not math.isfinite(v))),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(texts, children, max_size=4),
    max_leaves=12,
)
"""JSON values that survive a strict round trip (no NaN/Infinity, which the decoder rightly refuses)."""


def mostly(typed: st.SearchStrategy) -> st.SearchStrategy:
    """Usually a value of the field's type (so requests get past decoding), sometimes anything."""
    return st.one_of(typed, typed, typed, typed, json_values)


url_values = st.sampled_from(URLS) | texts
request_objects = st.fixed_dictionaries(
    {},
    optional={
        "action": mostly(st.sampled_from(ACTIONS)),
        "image": mostly(url_values),
        "video_url": mostly(url_values),
        "model_name": mostly(st.sampled_from(["", "", "custom"])),
        "configure": mostly(st.dictionaries(texts, json_values, max_size=3)),
        "images": mostly(st.lists(url_values, max_size=3)),
        "videos": mostly(
            st.lists(st.fixed_dictionaries({"url": mostly(url_values)}, optional={"title": mostly(texts)}), max_size=3)
        ),
    },
)


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["object", "object", "value", "bytes", "tweaked"]))
    if kind == "object":
        return json.dumps(draw(request_objects), ensure_ascii=draw(st.booleans())).encode()
    if kind == "value":
        return json.dumps(draw(json_values)).encode()
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    raw = json.dumps(draw(request_objects)).encode()
    cut = draw(st.integers(0, len(raw)))
    return raw[:cut] + draw(st.sampled_from([b"", b"\xff", b"\xc3", b"NaN", b"}", b"]]]", b"\x00", b" " * 3]))


ROUTES = [
    ("POST", "/api/v1/images"),
    ("POST", "/api/v1/videos"),
    ("POST", "/api/v1/batch_videos"),
    ("POST", "/api/v1/async_jobs/{id}"),
    ("GET", "/api/v1/batch_jobs/{id}"),
    ("GET", "/api/v1/images"),  # wrong method: 405, still the envelope
    ("POST", "/api/v1/text"),  # an SDK path medialens does not serve: 404, still the envelope
]
ids = (
    st.integers(min_value=-(10**25), max_value=10**25).map(str)
    | st.text(no_surrogates, min_size=1, max_size=25)
    | st.sampled_from(["abc", "-1", "0", "1", "²", "١٢", "1e3", "0x10", " 7", "%00", "9" * 19, "9" * 40])
)
header_texts = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=80)


@st.composite
def authorizations(draw: st.DrawFn, app_id: str, token: str, method: str, path: str, body: bytes) -> str | None:
    form = draw(st.sampled_from(["signed", "signed", "none", "garbage", "wrong-sig", "unknown-app", "empty-parts"]))
    if form == "signed":
        return authorization_header(app_id, token, method, path, body)
    if form == "none":
        return None
    if form == "wrong-sig":
        return authorization_header(app_id, "not-the-token", method, path, body)
    if form == "unknown-app":
        return authorization_header("0" * 19, token, method, path, body)
    if form == "empty-parts":
        return draw(st.sampled_from([":", f"{app_id}:", f":{'0' * 64}", " : ", f"{app_id}::", f" {app_id} : x "]))
    return draw(header_texts)


def assert_envelope(response: httpx.Response) -> dict:
    assert response.status_code < 500, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert set(body) == ENVELOPE, body
    assert isinstance(body["message"], str) and isinstance(body["code"], str)
    if response.status_code >= 400:
        assert body["code"] in {"PARAMETER_ERROR", "SERVER_ERROR"} and body["data"] is None
        assert "Traceback" not in body["message"] and 'File "' not in body["message"]
    return body


# --- the HTTP surface -------------------------------------------------------------------------------------------


@FUZZ
@given(data=st.data(), route=st.sampled_from(ROUTES), body=bodies(), job_id=ids)
def test_any_request_gets_an_envelope_and_no_5xx(pai, data: st.DataObject, route, body: bytes, job_id: str) -> None:
    client, app_id, token = pai
    method, template = route
    wire_path = template.replace("{id}", urllib.parse.quote(job_id, safe=""))
    signed_path = urllib.parse.unquote(wire_path)  # what the server sees in scope["path"], and so verifies
    if method == "GET":
        body = data.draw(st.sampled_from([b"", body]))
    headers = {"Content-Type": data.draw(st.sampled_from(["application/json", "text/plain", "", "application/xml"]))}
    auth = data.draw(authorizations(app_id, token, method, signed_path, body))
    if auth is not None:
        headers["Authorization"] = auth.encode("latin-1")  # type: ignore[assignment]
    response = client.request(method, wire_path, content=body, headers=headers)
    body = assert_envelope(response)
    event(f"{response.status_code} {body['message'][:30]}")


@FUZZ
@given(job_id=ids, batch=st.booleans())
def test_signed_job_lookups_with_any_id(pai, job_id: str, batch: bool) -> None:
    client, app_id, token = pai
    method, template = ("GET", "/api/v1/batch_jobs/") if batch else ("POST", "/api/v1/async_jobs/")
    wire_path = template + urllib.parse.quote(job_id, safe="")
    body = b"" if batch else b"{}"
    auth = authorization_header(app_id, token, method, urllib.parse.unquote(wire_path), body)
    response = client.request(method, wire_path, content=body, headers={"Authorization": auth})
    envelope = assert_envelope(response)
    if response.status_code == 400 and "/" not in job_id:
        assert envelope["message"].startswith(("invalid job id", "invalid batch id")), envelope


def endpoint_objects(endpoint: str) -> st.SearchStrategy[dict]:
    """Bodies shaped for one endpoint: its fields present and mostly well typed, the action mostly right."""
    action = {"images": "ImageQA"}.get(endpoint, "VideoQA")
    typed = st.sampled_from([action, action, action]) | st.sampled_from(ACTIONS)
    media = {
        "images": {"image": mostly(url_values)},
        "videos": {"video_url": mostly(url_values)},
        "batch_videos": {"videos": request_objects.map(lambda o: o.get("videos", [{"url": URLS[0]}]))},
    }[endpoint]
    return st.fixed_dictionaries(
        {"action": typed, **media},
        optional={"model_name": mostly(st.just("")), "configure": mostly(st.dictionaries(texts, json_values))},
    )


@FUZZ
@given(data=st.data(), endpoint=st.sampled_from(["images", "videos", "batch_videos"]))
def test_signed_well_formed_json_never_5xx(pai, data: st.DataObject, endpoint: str) -> None:
    client, app_id, token = pai
    path = f"/api/v1/{endpoint}"
    obj = data.draw(endpoint_objects(endpoint))
    raw = json.dumps(obj).encode()  # as the SDK sends it: ensure_ascii, ", " and ": " separators
    auth = authorization_header(app_id, token, "POST", path, raw)
    response = client.post(path, content=raw, headers={"Authorization": auth})
    body = assert_envelope(response)
    event(f"{response.status_code} {body['message'][:70]}")
    if response.status_code == 200:
        assert body["code"] == "OK"


def test_the_openapi_document_is_served(pai) -> None:
    client, _, _ = pai
    r = client.get("/openapi.json")
    assert r.status_code == 200 and "paths" in r.json()


# --- the decoder ---------------------------------------------------------------------------------------------------

STRUCTS = st.sampled_from([IMAGE_REQUEST, VIDEO_REQUEST, BATCH_VIDEO_REQUEST])


@FUZZ
@given(raw=st.binary(max_size=300) | bodies(), struct=STRUCTS)
def test_decode_raises_only_go_errors(raw: bytes, struct) -> None:
    try:
        out = decode(raw, struct)
    except GoJSONError as err:
        assert str(err).startswith(("Syntax error: offset=", "Unmarshal type error: expected="))
    else:
        assert isinstance(out, dict) and set(out) <= set(struct.fields)
        json.dumps(out, allow_nan=False)  # what is decoded can be stored as strict JSON (PostgreSQL's json type)


@FUZZ
@given(
    obj=st.fixed_dictionaries(
        {},
        optional={
            "action": texts,
            "video_url": texts,
            "video_title": texts,
            "model_name": texts,
            "text": texts,
            "images": st.lists(texts, max_size=3),
            "configure": st.dictionaries(texts, finite_json_values, max_size=3),
        },
    ),
    ensure_ascii=st.booleans(),
    indent=st.sampled_from([None, 0, 2]),
)
def test_decode_round_trips_well_typed_bodies(obj: dict, ensure_ascii: bool, indent) -> None:
    raw = json.dumps(obj, ensure_ascii=ensure_ascii, indent=indent).encode()
    assert decode(raw, VIDEO_REQUEST) == obj


@settings(max_examples=30, deadline=None)
@given(depth=st.integers(1, 5000), opener=st.sampled_from(["[", '{"a":']))
def test_decode_survives_deep_nesting(depth: int, opener: str) -> None:
    closer = "]" if opener == "[" else "}"
    raw = ('{"configure":' + opener * depth + "1" + closer * depth + "}").encode()
    with contextlib.suppress(GoJSONError):  # too deep is a clean syntax error; anything else fails the test
        decode(raw, IMAGE_REQUEST)


# --- the SSRF guard ------------------------------------------------------------------------------------------------


def _expected_blocked(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """An independent reading of "only plainly public unicast is allowed"."""
    if not ip.is_global or ip.is_multicast or ip.is_reserved or ip.is_unspecified or ip.is_loopback:
        return True
    if isinstance(ip, ipaddress.IPv6Address):
        inner = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if inner is not None and _expected_blocked(inner):
            return True
        if ip.is_site_local or ip.scope_id:
            return True
    return False


@FUZZ
@given(ip=st.ip_addresses(), port=st.none() | st.integers(1, 65535), scheme=st.sampled_from(["http", "https"]))
def test_vet_url_on_ip_literals(no_dns, ip, port: int | None, scheme: str) -> None:
    host = f"[{ip}]" if ip.version == 6 else str(ip)
    url = f"{scheme}://{host}{f':{port}' if port else ''}/media?x=1"
    try:
        vetted = ssrf.vet_url(url, allow_private=False)
    except BlockedURLError as err:
        assert _expected_blocked(ip), (url, str(err))
        assert str(err) == "url resolves to a private address"
    else:
        assert not _expected_blocked(ip), url
        assert vetted.ips == [str(ip)]
        assert vetted.port == (port or {"http": 80, "https": 443}[scheme])


url_texts = st.one_of(
    st.text(no_surrogates, max_size=60),
    st.builds(
        lambda scheme, auth, host, port, path: f"{scheme}{auth}{host}{port}{path}",
        st.sampled_from(["http://", "https://", "HTTP://", "file://", "ftp://", "gopher://", "//", "", "http:/"]),
        st.sampled_from(["", "user@", "user:pw@", "@", ":@"]),
        st.text(st.sampled_from(string.ascii_letters + string.digits + ".-_[]:%@\\ \t\x00é"), max_size=25)
        | st.ip_addresses().map(str),
        st.sampled_from(["", ":80", ":0", ":65536", ":-1", ":x", ":"]),
        st.text(no_surrogates, max_size=15),
    ),
)


@FUZZ
@given(url=url_texts)
def test_url_guard_raises_only_fetch_errors(no_dns, url: str) -> None:
    try:
        parsed = ssrf.parse_url(url)
    except BlockedURLError:
        return
    assert parsed.scheme in ("http", "https") and parsed.host and not parsed.userinfo
    try:
        vetted = ssrf.vet_url(url, allow_private=False)
    except FetchError:
        return  # blocked, or a name (never resolved here)
    assert all(not ssrf.is_blocked_address(ipaddress.ip_address(a)) for a in vetted.ips)


def test_fuzz_resolver_never_resolves_names(no_dns) -> None:
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo("localhost", 80)
