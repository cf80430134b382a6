"""Event callbacks: the URL goes through the media SSRF guard, the signature is VOD's, event types filter."""

from __future__ import annotations

import hashlib

import pytest

from medialens.config import Settings
from medialens.core import InvalidOptions, vod_events
from medialens.store.db import Database


@pytest.fixture
def db(tmp_path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 't.db'}")
    database.migrate()
    return database


@pytest.mark.parametrize(
    "url", ["http://169.254.169.254/latest", "http://127.0.0.1:9/x", "http://10.0.0.1/x", "ftp://example.com/x"]
)
def test_callback_urls_are_vetted(db: Database, tmp_path, url: str) -> None:
    with pytest.raises(InvalidOptions) as err:
        vod_events.set_callback(db, Settings(data_dir=tmp_path), "acct", url, "ALL", "")
    assert err.value.field == "CallbackURL"


def test_signature_is_md5_of_url_timestamp_key() -> None:
    expected = hashlib.md5(b"https://cb.example.com/x|1700000000|secretkey").hexdigest()
    assert vod_events.signature("https://cb.example.com/x", 1700000000, "secretkey") == expected


def test_event_type_filter() -> None:
    assert vod_events._wanted("ALL", "AIMediaDNAComplete")
    assert vod_events._wanted("", "AIMediaDNAComplete")
    assert vod_events._wanted("FileUploadComplete,AIMediaDNAComplete", "AIMediaDNAComplete")
    assert not vod_events._wanted("AIVideoTagComplete", "AIMediaDNAComplete")
