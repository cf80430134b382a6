"""Alembic environment: uses the engine handed over by medialens.store.migrate (or the URL in the config)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

import medialens.store.queue_tables  # the EAS queue tables join the metadata too
import medialens.store.vod_tables  # noqa: F401 - the VOD tables join the metadata autogenerate compares
from medialens.store.tables import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = config.attributes.get("engine") or create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        context.run_migrations()


run_migrations_online()
