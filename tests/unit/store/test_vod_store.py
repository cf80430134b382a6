"""The VOD tables (revision 0004_vod) on SQLite and PostgreSQL: AccessKeys stored encrypted, nonces remembered once,
media paged per account, fingerprints replaced and deleted, and the revision's downgrade."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from medialens.config import Settings
from medialens.core import keys
from medialens.store import vod
from medialens.store.db import Database
from medialens.store.migrate import current_revisions, downgrade, upgrade
from medialens.store.vod_tables import Fingerprint, MediaItem


def test_keys_are_encrypted_and_round_trip(db: Database, tmp_path) -> None:
    settings = Settings(data_dir=tmp_path)
    new = keys.create_key(db, settings)
    stored = vod.get_key(db, new.access_key_id)
    assert stored is not None and new.access_key_secret not in stored.secret_enc
    assert keys.key_secret(db, settings, new.access_key_id) == (new.access_key_secret, new.account)
    second = keys.create_key(db, settings, new.account)
    assert second.account == new.account and second.access_key_id != new.access_key_id
    assert [k.access_key_id for k in keys.list_keys(db)] == [new.access_key_id, second.access_key_id]
    # another server key cannot read the secret
    assert keys.key_secret(db, Settings(data_dir=tmp_path / "other"), new.access_key_id) is None
    assert keys.delete_key(db, new.access_key_id) and keys.key_secret(db, settings, new.access_key_id) is None
    assert (tmp_path / "server.key").stat().st_mode & 0o077 == 0


def test_nonce_once(db: Database) -> None:
    now = datetime.now(UTC)
    assert keys.first_use_of_nonce(db, "K", "n1", now)
    assert not keys.first_use_of_nonce(db, "K", "n1", now + timedelta(seconds=5))
    assert keys.first_use_of_nonce(db, "K2", "n1", now)  # per key


def test_media_paging_and_fingerprints(db: Database, tmp_path) -> None:
    account = keys.create_key(db, Settings(data_dir=tmp_path)).account
    other = keys.create_key(db, Settings(data_dir=tmp_path)).account
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(5):
        item = MediaItem(media_id=f"m{i}", app_id=account, title=f"clip {i} 100%", blob_key="k")
        item.created_at = t0 + timedelta(i)
        vod.add_media(db, item)
    page, total = vod.list_media(db, account, offset=0, limit=2)
    assert total == 5 and [m.media_id for m in page] == ["m4", "m3"]
    page, _ = vod.list_media(db, account, offset=4, limit=2)
    assert [m.media_id for m in page] == ["m0"]
    assert vod.list_media(db, account, offset=0, limit=9, title="clip 2")[1] == 1
    assert vod.list_media(db, account, offset=0, limit=9, title="%")[1] == 5  # LIKE wildcards are escaped
    assert vod.list_media(db, account, offset=0, limit=9, title="_ 1")[1] == 0
    assert vod.list_media(db, other, offset=0, limit=9)[1] == 0
    assert vod.get_media(db, "m1", other) is None
    vod.put_fingerprint(db, Fingerprint(app_id=account, media_id="m1", fps=2.0, dim=4, vectors=b"\0" * 8))
    vod.put_fingerprint(db, Fingerprint(app_id=account, media_id="m1", fps=2.0, dim=4, vectors=b"\1" * 8))
    assert [f.vectors for f in vod.fingerprints(db, account)] == [b"\1" * 8]
    assert vod.fingerprints(db, account, exclude="m1") == []
    assert vod.delete_media(db, "m1", account) is not None
    assert vod.fingerprints(db, account) == []


def test_downgrade_and_upgrade_again(db: Database) -> None:
    downgrade(db.engine, "0004_vod")
    assert current_revisions(db.engine) == {"0004_vod"}
    downgrade(db.engine, "0003")
    assert "media" not in sa.inspect(db.engine).get_table_names()
    upgrade(db.engine)
    assert {"access_keys", "media", "ai_jobs", "fingerprints", "seen_nonces", "face_library"} <= set(
        sa.inspect(db.engine).get_table_names()
    )
