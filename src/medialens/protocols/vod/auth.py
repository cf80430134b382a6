"""VOD request signatures (WIRE.md §B.2, §B.3): ACS3-HMAC-SHA256 (header-based, the new SDK's default) and
HMAC-SHA1 SignatureVersion 1.0 (query-based: the old SDK, and the new one with ``signature_algorithm='v2'``).

``parse`` reads who signed what from a request without any secret; ``string_to_sign`` and ``signature`` recompute
the signature once the caller has looked the secret up; ``fresh`` checks the timestamp window.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, quote

V3 = "ACS3-HMAC-SHA256"
V1 = "HMAC-SHA1"
MAX_SKEW = timedelta(minutes=15)

# V1's own parameters: not parameters of the action.
V1_PARAMS = frozenset(
    {
        "Action",
        "Format",
        "Version",
        "Timestamp",
        "SignatureNonce",
        "SignatureMethod",
        "SignatureVersion",
        "SignatureType",
        "AccessKeyId",
        "Signature",
        "RegionId",
        "SecurityToken",
    }
)


class SignatureFormatError(ValueError):
    """The request carries no signature, or one that cannot be read."""


@dataclass(frozen=True)
class SignedRequest:
    algorithm: str  # V3 or V1
    key_id: str
    signature: str
    timestamp: str
    nonce: str
    action: str
    params: dict[str, str]  # the action's parameters
    security_token: str | None
    # what the signature covers
    method: str
    path: str
    query: list[tuple[str, str]] = field(repr=False)
    headers: dict[str, str] = field(repr=False)
    signed_headers: tuple[str, ...] = ()
    body_sha256: str = ""


def rfc3986(value: str) -> str:
    return quote(value, safe="~")


def parse(method: str, path: str, raw_query: str, headers: dict[str, str], body: bytes) -> SignedRequest:
    """What a request says about its signature. ``headers`` are lower-cased names; ``raw_query`` as sent."""
    query = parse_qsl(raw_query, keep_blank_values=True)
    params = dict(query)
    auth = headers.get("authorization", "")
    if auth.startswith(V3 + " "):
        try:
            parts = dict(p.strip().split("=", 1) for p in auth[len(V3) + 1 :].split(","))
            key_id, signed, signature = parts["Credential"], parts["SignedHeaders"].split(";"), parts["Signature"]
        except (KeyError, ValueError) as err:
            raise SignatureFormatError("malformed Authorization header") from err
        # freshness and replay checks only mean something when the date and the nonce are signed
        if not {"x-acs-date", "x-acs-signature-nonce", "x-acs-action", "host"} <= set(signed):
            raise SignatureFormatError("x-acs-date, x-acs-signature-nonce, x-acs-action and host must be signed")
        if any(h not in headers for h in signed):
            raise SignatureFormatError("a signed header is missing")
        return SignedRequest(
            V3,
            key_id,
            signature,
            headers["x-acs-date"],
            headers["x-acs-signature-nonce"],
            headers["x-acs-action"],
            params,
            headers.get("x-acs-security-token"),
            method,
            path or "/",
            query,
            headers,
            tuple(signed),
            hashlib.sha256(body).hexdigest(),
        )
    if "Signature" in params:
        if params.get("SignatureMethod") != V1 or params.get("SignatureVersion") != "1.0":
            raise SignatureFormatError("SignatureMethod must be HMAC-SHA1 and SignatureVersion 1.0")
        missing = [k for k in ("AccessKeyId", "Timestamp", "SignatureNonce", "Action") if not params.get(k)]
        if missing:
            raise SignatureFormatError(f"{missing[0]} is missing")
        return SignedRequest(
            V1,
            params["AccessKeyId"],
            params["Signature"],
            params["Timestamp"],
            params["SignatureNonce"],
            params["Action"],
            {k: v for k, v in params.items() if k not in V1_PARAMS},
            params.get("SecurityToken"),
            method,
            path or "/",
            query,
            headers,
        )
    raise SignatureFormatError("no signature")


def string_to_sign(req: SignedRequest) -> str:
    if req.algorithm == V3:
        cq = "&".join(f"{k}={rfc3986(v)}" for k, v in sorted(req.query))
        ch = "".join(f"{k}:{req.headers[k].strip()}\n" for k in req.signed_headers)
        canonical = f"{req.method}\n{req.path}\n{cq}\n{ch}\n{';'.join(req.signed_headers)}\n{req.body_sha256}"
        return f"{V3}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    items = sorted((k, v) for k, v in req.query if k != "Signature")
    canonical = "&".join(f"{rfc3986(k)}={rfc3986(v)}" for k, v in items)
    return f"{req.method}&{rfc3986('/')}&{rfc3986(canonical)}"


def signature(req: SignedRequest, secret: str) -> str:
    sts = string_to_sign(req).encode()
    if req.algorithm == V3:
        return hmac.new(secret.encode(), sts, hashlib.sha256).hexdigest()
    return base64.b64encode(hmac.new((secret + "&").encode(), sts, hashlib.sha1).digest()).decode()


def matches(req: SignedRequest, secret: str) -> bool:
    return hmac.compare_digest(signature(req, secret).encode(), req.signature.encode())


def parse_timestamp(value: str) -> datetime:
    """``%Y-%m-%dT%H:%M:%SZ`` (both SDKs), in UTC; ValueError otherwise."""
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def fresh(value: str, now: datetime | None = None) -> bool:
    """Within ±15 minutes of now (raises ValueError on a malformed timestamp)."""
    return abs((now or datetime.now(UTC)) - parse_timestamp(value)) <= MAX_SKEW
