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


def test_the_idle_poll_probe_sees_callbacks_and_unsettled_events(db: Database) -> None:
    from medialens.store import apps
    from medialens.store import vod as vod_store

    assert not vod_store.anything_to_dispatch(db)  # a server nobody asked for callbacks: the poll stops here
    a, b = apps.create_app(db, "a").app_id, apps.create_app(db, "b").app_id
    vod_store.set_callback(db, a, "https://cb.example.com/x", "ALL", "")
    assert vod_store.anything_to_dispatch(db)
    with db.session() as s:
        s.query(vod_store.MessageCallback).delete()
    assert not vod_store.anything_to_dispatch(db)
    vod_store.add_event(db, b, "job-1", {"EventType": "AIMediaDNAComplete"})
    assert vod_store.anything_to_dispatch(db)  # the callback gone, an event pending: it must still be settled
    with db.session() as s:
        event = s.query(vod_store.CallbackEvent).one()
    vod_store.finish_event(db, event.id, state=1)
    assert not vod_store.anything_to_dispatch(db)
