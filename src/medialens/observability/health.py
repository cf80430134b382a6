"""Readiness: the database answers, its schema is at the newest migration, and the job executor runs.

``/healthz`` only says the process is up; ``/readyz`` runs these checks so a load balancer or orchestrator
stops sending traffic to an instance that cannot do its work. Reasons are short and carry no secrets (the
database URL, which may hold a password, is never shown).
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from typing import Any

from alembic.script import ScriptDirectory

from medialens.store.db import Database
from medialens.store.migrate import MIGRATIONS, current_revisions

log = logging.getLogger(__name__)


@dataclass
class Readiness:
    checks: dict[str, str] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return not self.reasons

    def fail(self, check: str, reason: str) -> None:
        self.checks[check] = "failed"
        self.reasons.append(reason)

    def as_json(self) -> dict[str, Any]:
        return {"status": "ok" if self.ready else "unavailable", "checks": self.checks, "reasons": self.reasons}


@functools.cache
def migration_heads() -> frozenset[str]:
    """The head revision(s) of the package's own migrations (read once: scripts do not change at runtime)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return frozenset(ScriptDirectory.from_config(cfg).get_heads())


def executor_running(executor: Any) -> bool:
    """Whether a job executor is taking jobs: a public ``running`` flag if it has one, else live threads."""
    running = getattr(executor, "running", None)
    if isinstance(running, bool):
        return running
    if callable(running):
        return bool(running())
    stop = getattr(executor, "_stop", None)
    threads = getattr(executor, "_threads", None)
    if stop is None or threads is None:
        return True  # an executor we cannot inspect: trust that start() worked
    return not stop.is_set() and bool(threads) and all(t.is_alive() for t in threads)


def check_readiness(db: Database | None, executor: Any, *, workers_expected: bool) -> Readiness:
    """Run every check (blocking: call it from a worker thread): database, migrations, executor, and the message
    broker when the executor uses one.

    ``workers_expected``: this process is meant to run jobs itself, so a missing executor is a failure.
    """
    out = Readiness()
    if db is None:
        out.fail("database", "the application has not started")
        return out
    try:
        current = current_revisions(db.engine)  # reading the schema's revision also proves the database answers
    except Exception as err:
        log.warning("readiness: database check failed", exc_info=True)
        out.fail("database", f"database is not reachable ({type(err).__name__})")
        out.checks["migrations"] = "unknown"
    else:
        out.checks["database"] = "ok"
        heads = migration_heads()
        if current == heads:
            out.checks["migrations"] = "ok"
        else:
            have = ",".join(sorted(current)) or "none"
            want = ",".join(sorted(heads))
            out.fail("migrations", f"database schema is at revision {have}, expected {want}")
    if executor is None:
        if workers_expected:
            out.fail("executor", "job executor is not configured")
        else:
            out.checks["executor"] = "disabled"  # an API-only process: other processes run the jobs
    elif executor_running(executor):
        out.checks["executor"] = "ok"
    else:
        out.fail("executor", "job executor is not running")
    broker_reachable = getattr(executor, "broker_reachable", None)
    if callable(broker_reachable):  # executor=celery: jobs and synchronous requests go through the broker
        if broker_reachable():
            out.checks["broker"] = "ok"
        else:
            out.fail("broker", "message broker is not reachable")
    return out
