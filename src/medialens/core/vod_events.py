"""VOD event notification: per-account HTTP callbacks, POSTed when an AI job finishes.

``set_callback`` vets the URL with the same SSRF guard as media URLs. ``EventDispatcher`` (a thread in the API
process) records one event per finished AI job of an account with a callback (a unique row: several processes
never record it twice), then POSTs it, signed as VOD signs HTTP callbacks (``X-VOD-TIMESTAMP`` and
``X-VOD-SIGNATURE`` = md5 hex of ``URL|timestamp|AuthKey``), claims each try with a conditional UPDATE, retries with
exponential backoff up to ``MAX_ATTEMPTS`` and records the outcome; it never blocks a job.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from datetime import UTC, datetime, timedelta

import httpx

from medialens.config import Settings
from medialens.core.errors import InvalidOptions
from medialens.store import vod as vod_store
from medialens.store.db import Database

log = logging.getLogger(__name__)

EVENT_TYPES = {"AIVideoTag": "AIVideoTagComplete", "AIMediaDNA": "AIMediaDNAComplete"}
MAX_ATTEMPTS = 5
BACKOFF_S = 2.0
TIMEOUT_S = 5.0
STATUS = {2: "success", 3: "fail"}


def set_callback(db: Database, settings: Settings, app_id: str, url: str, event_types: str, auth_key: str) -> None:
    from medialens.media.errors import MediaError
    from medialens.media.ssrf import vet_url

    try:
        vet_url(url, allow_private=settings.allow_private_urls)
    except (MediaError, ValueError) as err:
        raise InvalidOptions("CallbackURL", f"is not allowed: {err}") from None
    vod_store.set_callback(db, app_id, url, event_types or "ALL", auth_key)


def get_callback(db: Database, app_id: str) -> dict[str, str] | None:
    cb = vod_store.get_callback(db, app_id)
    if cb is None:
        return None
    return {"url": cb.url, "event_types": cb.event_types, "auth_key": cb.auth_key}


def signature(url: str, timestamp: int, auth_key: str) -> str:
    return hashlib.md5(f"{url}|{timestamp}|{auth_key}".encode()).hexdigest()


def _wanted(event_types: str, event: str) -> bool:
    names = {t.strip() for t in event_types.split(",") if t.strip()}
    return not names or "ALL" in names or event in names


def record_finished(db: Database) -> int:
    """One event row per newly finished AI job whose account wants it; returns how many were recorded."""
    n = 0
    for ai, job, cb in vod_store.finished_without_event(db):
        event = EVENT_TYPES.get(ai.type, f"{ai.type}Complete")
        payload = {
            "EventTime": (job.finished_at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "EventType": event,
            "JobId": ai.ai_job_id,
            "MediaId": ai.media_id,
            "Status": STATUS.get(job.state, "fail"),
            "Code": "0" if job.state == 2 else "InternalError",
            "Message": "" if job.state == 2 else (job.message or "")[:500],
            "UserData": ai.user_data,
        }
        if not _wanted(cb.event_types, event):
            payload = {"skipped": True}
        n += vod_store.add_event(db, ai.app_id, ai.ai_job_id, payload)
    return n


def deliver_due(db: Database, settings: Settings, client: httpx.Client) -> int:
    """Try every due event once; returns how many were delivered."""
    from medialens.media.errors import MediaError
    from medialens.media.ssrf import vet_url

    delivered = 0
    now = datetime.now(UTC)
    for event in vod_store.due_events(db, now):
        if event.payload.get("skipped"):
            vod_store.finish_event(db, event.id, state=1, error="event type not subscribed")
            continue
        if not vod_store.claim_event(db, event, now + timedelta(seconds=60)):
            continue
        cb = vod_store.get_callback(db, event.app_id)
        try:
            if cb is None:
                raise RuntimeError("no callback configured any more")
            vetted = vet_url(cb.url, allow_private=settings.allow_private_urls)
            ts = int(time.time())
            headers = {"Content-Type": "application/json", "Host": vetted.url.netloc.decode("ascii")}
            if cb.auth_key:
                headers |= {"X-VOD-TIMESTAMP": str(ts), "X-VOD-SIGNATURE": signature(cb.url, ts, cb.auth_key)}
            body = json.dumps(event.payload, ensure_ascii=False).encode()
            sni = {"sni_hostname": vetted.host} if vetted.url.scheme == "https" else {}
            request = client.build_request(
                "POST", vetted.url.copy_with(host=vetted.ips[0]), content=body, headers=headers, extensions=sni
            )
            # Only the status matters: the answer's body is never read, so a host that trickles an endless one
            # cannot hold the one dispatcher thread (the connect/read timeouts bound the wait for the status).
            response = client.send(request, stream=True)
            response.close()
            if response.status_code >= 300:
                raise RuntimeError(f"HTTP {response.status_code}")
        except (httpx.HTTPError, MediaError, RuntimeError, ValueError) as err:
            attempts = event.attempts + 1
            retry = now + timedelta(seconds=BACKOFF_S * 2 ** (attempts - 1))
            vod_store.finish_event(
                db, event.id, state=0 if attempts < MAX_ATTEMPTS else 2, error=str(err), next_at=retry
            )
            continue
        vod_store.finish_event(db, event.id, state=1)
        delivered += 1
    return delivered


class EventDispatcher:
    """Polls for finished AI jobs and due events every ``interval_s``, in a daemon thread."""

    def __init__(self, db: Database, settings: Settings, interval_s: float = 0.5) -> None:
        self.db, self.settings, self.interval_s = db, settings, interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="vod-events", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        with httpx.Client(timeout=TIMEOUT_S, follow_redirects=False, trust_env=False) as client:
            while not self._stop.is_set():
                try:
                    if vod_store.anything_to_dispatch(self.db):
                        record_finished(self.db)
                        deliver_due(self.db, self.settings, client)
                except Exception:  # a dispatcher error must never end the thread
                    log.exception("VOD event dispatch failed")
                self._stop.wait(self.interval_s)
