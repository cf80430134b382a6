"""Model Hub services in the store (SQLite and PostgreSQL): create, read, rotate, delete, and migration 0003."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from medialens.store import services
from medialens.store.db import Database
from medialens.store.migrate import current_revisions, downgrade, upgrade


def test_services_are_stored_and_their_tokens_rotate(db: Database) -> None:
    a = services.create_service(db, "ocr", "ocr")
    services.create_service(db, "faces", "face_similarity", token="mytoken==")
    assert a.token.endswith("==") and len(a.token) > 30
    with pytest.raises(services.ServiceExists):
        services.create_service(db, "ocr", "image_classification")
    assert [s.name for s in services.list_services(db)] == ["ocr", "faces"]
    assert services.get_service(db, "faces").token == "mytoken=="
    new = services.rotate_token(db, "faces")
    assert new and new != "mytoken==" and services.get_service(db, "faces").token == new
    assert services.rotate_token(db, "nope") is None
    assert services.delete_service(db, "ocr") and not services.delete_service(db, "ocr")
    assert services.get_service(db, "ocr") is None


def test_migration_0003_creates_and_drops_the_services_table(blank_db: Database) -> None:
    upgrade(blank_db.engine, "0002")
    assert "services" not in sa.inspect(blank_db.engine).get_table_names()
    upgrade(blank_db.engine, "0003")
    assert current_revisions(blank_db.engine) == {"0003"}
    assert {c["name"] for c in sa.inspect(blank_db.engine).get_columns("services")} == {
        "name",
        "model",
        "token",
        "created_at",
    }
    services.create_service(blank_db, "ocr", "ocr")
    downgrade(blank_db.engine, "0002")
    assert "services" not in sa.inspect(blank_db.engine).get_table_names()
    upgrade(blank_db.engine)
    assert services.list_services(blank_db) == []
