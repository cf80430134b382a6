"""PAI request signing (WIRE.md §A.3): ``Authorization: AppId:hex(HMAC-SHA256(Token, METHOD\\nMD5(body)\\nPATH))``.

The MD5 is taken over the raw body bytes exactly as received: the official client signs the same string it
sends, so re-serialising the JSON would break valid signatures.
"""

from __future__ import annotations

import hashlib
import hmac


def string_to_sign(method: str, path: str, raw_body: bytes) -> str:
    return f"{method.upper()}\n{hashlib.md5(raw_body).hexdigest()}\n{path}"


def signature(token: str, method: str, path: str, raw_body: bytes) -> str:
    msg = string_to_sign(method, path, raw_body).encode()
    return hmac.new(token.encode(), msg, hashlib.sha256).hexdigest()


def authorization_header(app_id: str, token: str, method: str, path: str, raw_body: bytes) -> str:
    """What a client sends; used by our own tools and tests."""
    return f"{app_id}:{signature(token, method, path, raw_body)}"


def split_authorization(header: str | None) -> tuple[str, str] | None:
    """(AppId, signature) from the header, split on the first ':'; None when it is absent or malformed."""
    if not header or ":" not in header:
        return None
    app_id, sig = header.split(":", 1)
    return app_id.strip(), sig.strip()


def signature_matches(token: str, method: str, path: str, raw_body: bytes, given: str) -> bool:
    """Constant-time comparison of the given signature with the expected one."""
    expected = signature(token, method, path, raw_body)
    return hmac.compare_digest(expected.encode(), given.lower().encode())
