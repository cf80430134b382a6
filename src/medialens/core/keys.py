"""AccessKey pairs (VOD's credentials): created with a secret shown once and stored encrypted under a server key.

Signatures are HMACs over the request, so the server needs the secret itself, not a hash of it: it is kept as a
Fernet token (AES-128-CBC + HMAC-SHA256) whose key lives in ``<data_dir>/server.key`` (mode 0600), apart from the
database. A copy of the database alone does not reveal any secret.
"""

from __future__ import annotations

import os
import secrets
import string
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from medialens.config import Settings
from medialens.store import vod as vod_store
from medialens.store.apps import _new_app_id
from medialens.store.db import Database

_ALNUM = string.ascii_letters + string.digits
NONCE_WINDOW = timedelta(minutes=15)


@dataclass(frozen=True)
class NewKey:
    access_key_id: str
    access_key_secret: str
    account: str


@dataclass(frozen=True)
class KeyInfo:
    access_key_id: str
    account: str
    created_at: datetime


def server_key_path(settings: Settings) -> Path:
    return settings.data_dir / "server.key"


def _fernet(settings: Settings) -> Fernet:
    path = server_key_path(settings)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first
            pass
        else:
            with os.fdopen(fd, "wb") as out:
                out.write(Fernet.generate_key())
    return Fernet(path.read_bytes().strip())


def create_key(db: Database, settings: Settings, account: str | None = None) -> NewKey:
    """A new AccessKey pair for ``account`` (an existing app id), or for a new account when None."""
    key_id = "LTAI" + "".join(secrets.choice(_ALNUM) for _ in range(20))
    secret = "".join(secrets.choice(_ALNUM) for _ in range(30))
    enc = _fernet(settings).encrypt(secret.encode()).decode("ascii")
    if account is None:
        account = _new_app_id()
        vod_store.add_key(db, key_id, account, enc, new_app_name=f"account of {key_id}")
    else:
        if not vod_store.app_exists(db, account):
            raise KeyError(account)
        vod_store.add_key(db, key_id, account, enc)
    return NewKey(key_id, secret, account)


def list_keys(db: Database) -> list[KeyInfo]:
    return [KeyInfo(k.key_id, k.app_id, k.created_at) for k in vod_store.list_keys(db)]


def delete_key(db: Database, key_id: str) -> bool:
    return vod_store.delete_key(db, key_id)


def key_secret(db: Database, settings: Settings, key_id: str) -> tuple[str, str] | None:
    """(secret, account) of an AccessKey, or None when there is no such key (or the server key changed)."""
    key = vod_store.get_key(db, key_id)
    if key is None:
        return None
    try:
        return _fernet(settings).decrypt(key.secret_enc.encode("ascii")).decode(), key.app_id
    except InvalidToken:
        return None


def first_use_of_nonce(db: Database, key_id: str, nonce: str, now: datetime | None = None) -> bool:
    """True the first time a (key, nonce) pair is seen within the freshness window, False on a replay."""
    now = now or datetime.now(UTC)
    return vod_store.remember_nonce(db, f"{key_id}:{nonce}"[:200], now, now - 2 * NONCE_WINDOW)
