"""Model Hub prediction services: each a deployed model with its own name and token (EAS' service token)."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from medialens.store.db import Database
from medialens.store.tables import Service


class ServiceExists(ValueError):
    """A service of that name is already deployed."""


def new_token() -> str:
    # EAS tokens are base64 text ending in "=="; clients treat them as opaque strings.
    return secrets.token_urlsafe(30) + "=="


def create_service(db: Database, name: str, model: str, token: str | None = None) -> Service:
    service = Service(name=name, model=model, token=token or new_token())
    try:
        with db.session() as s:
            s.add(service)
    except IntegrityError:
        raise ServiceExists(name) from None
    return service


def get_service(db: Database, name: str) -> Service | None:
    with db.session() as s:
        return s.get(Service, name)


def list_services(db: Database) -> list[Service]:
    with db.session() as s:
        return list(s.scalars(select(Service).order_by(Service.created_at, Service.name)))


def delete_service(db: Database, name: str) -> bool:
    with db.session() as s:
        service = s.get(Service, name)
        if service is None:
            return False
        s.delete(service)
    return True


def rotate_token(db: Database, name: str) -> str | None:
    """A new token for the service (the old one stops working); None when there is no such service."""
    with db.session() as s:
        service = s.get(Service, name)
        if service is None:
            return None
        service.token = new_token()
        return service.token
