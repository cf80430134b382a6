"""The store tests' migrated database (SQLite, and PostgreSQL when it runs) for the recovery tests."""

from tests.unit.store.conftest import blank_db, db  # noqa: F401
