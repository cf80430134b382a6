"""A database per test: SQLite always, PostgreSQL in its own throw-away schema; ``db`` is migrated to the newest
revision, ``blank_db`` is left empty for migration tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from medialens.store.db import Database
from tests.conftest import POSTGRES_URL, require_service


@pytest.fixture(params=["sqlite", "postgres"])
def blank_db(request: pytest.FixtureRequest, tmp_path) -> Iterator[Database]:
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'test.db'}")
        yield database
        database.dispose()
        return
    require_service("127.0.0.1", 5432, "PostgreSQL")
    schema = f"ml_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    database = Database(f"{POSTGRES_URL}?options=-csearch_path%3D{schema}")
    try:
        yield database
    finally:
        database.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def db(blank_db: Database) -> Database:
    blank_db.migrate()
    return blank_db
