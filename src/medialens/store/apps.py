"""Application credentials (AppId + Token), as the PAI console hands them out."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from sqlalchemy import select

from medialens.store.db import Database
from medialens.store.tables import App


def _new_app_id() -> str:
    # PAI AppIds are 19 digits starting with the creation time (e.g. 2022090704024100000).
    return datetime.now(UTC).strftime("%Y%m%d%H%M%S") + f"{secrets.randbelow(10**5):05d}"


def create_app(db: Database, name: str) -> App:
    app = App(app_id=_new_app_id(), name=name, token=secrets.token_hex(16))
    with db.session() as s:
        s.add(app)
    return app


def get_app(db: Database, app_id: str) -> App | None:
    with db.session() as s:
        return s.get(App, app_id)


def list_apps(db: Database) -> list[App]:
    with db.session() as s:
        return list(s.scalars(select(App).order_by(App.created_at)))


def delete_app(db: Database, app_id: str) -> bool:
    with db.session() as s:
        app = s.get(App, app_id)
        if app is None:
            return False
        s.delete(app)
    return True
