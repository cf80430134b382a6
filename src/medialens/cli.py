"""The `medialens` command: serve, apps, jobs, models."""

from __future__ import annotations

import json
import socket
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from medialens.apikeys_cli import apikeys_app
from medialens.config import get_settings
from medialens.services_cli import services_app
from medialens.sku_cli import sku_app
from medialens.store.db import Database

# Plain click help (rich_markup_mode=None): typer's rich help shows every flag as `--json <bool>`, as if it took a
# value; the plain form shows `--json`.
app = typer.Typer(help="medialens: self-hosted multimedia analysis.", no_args_is_help=True, rich_markup_mode=None)
apps_app = typer.Typer(
    help="Application credentials (AppId and Token) for the PAI protocol.", no_args_is_help=True, rich_markup_mode=None
)
jobs_app = typer.Typer(help="Inspect jobs.", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(apps_app, name="apps")
app.add_typer(jobs_app, name="jobs")

console = Console()


def _register_models_cli() -> None:
    from medialens.models.cli import models_app

    app.add_typer(models_app, name="models")


_register_models_cli()
app.add_typer(apikeys_app, name="apikeys")
app.add_typer(services_app, name="services")
app.add_typer(sku_app, name="sku")


def _register_analyze_cli() -> None:
    from medialens.analyze_cli import register  # analyze, watch

    register(app)


_register_analyze_cli()


def _register_vod_cli() -> None:
    from medialens.vod_cli import register

    register(app)  # keys, media, faces (the VOD protocol's credentials and libraries)


_register_vod_cli()


def _db() -> Database:
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url)
    db.migrate()
    return db


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default MEDIALENS_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default MEDIALENS_PORT).")] = None,
) -> None:
    """Run the API with its in-process worker pool; says where it listens once it does."""
    import uvicorn

    from medialens.app import create_app

    settings = get_settings()

    class AnnouncingServer(uvicorn.Server):
        """uvicorn's server, printing the banner once the socket listens (so the port is the real one)."""

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.started and not self.should_exit:
                port = self.servers[0].sockets[0].getsockname()[1] if self.servers else self.config.port
                console.print(
                    server_banner(self.config.host, port, str(settings.data_dir)), highlight=False, soft_wrap=True
                )

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            await super().shutdown(sockets=sockets)
            console.print("medialens stopped", highlight=False)  # before uvicorn re-raises the signal that stopped it

    bind_port = settings.port if port is None else port
    server = AnnouncingServer(
        uvicorn.Config(create_app(settings), host=host or settings.host, port=bind_port, log_level="info")
    )
    server.run()


def server_banner(host: str, port: int, data_dir: str) -> str:
    """What a newcomer needs once the server is up: where it is, where its docs are, and what to run next."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # a wildcard bind is reached on loopback
    base = f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"
    everywhere = f" (bound to {host}: every address)" if shown != host else ""
    return "\n".join(
        [
            f"medialens is up at {base}{everywhere}",
            f"  API docs: {base}/docs",
            f"  data:     {data_dir}",
            "  next:     medialens apps create --name demo   (prints an AppId and a Token)",
            "  stop:     Ctrl+C",
        ]
    )


@app.command()
def worker(
    queues: Annotated[
        str | None, typer.Option(help="Queues to consume, comma-separated (default MEDIALENS_WORKER_QUEUES).")
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option(help="Job threads in this process (default MEDIALENS_WORKER_CONCURRENCY).")
    ] = None,
    loglevel: Annotated[str, typer.Option(help="Celery log level.")] = "INFO",
    metrics_port: Annotated[
        int | None,
        typer.Option(help="Serve Prometheus /metrics on this port (default MEDIALENS_WORKER_METRICS_PORT; 0: none)."),
    ] = None,
) -> None:
    """Run a Celery worker (MEDIALENS_BROKER_URL) that runs jobs submitted to an API with executor=celery."""
    import os
    import socket

    from medialens.jobs.broker import QUEUES
    from medialens.jobs.celery_app import app as celery_app
    from medialens.jobs.sizing import shared_core_settings
    from medialens.models.runtime import prepare_process

    settings = get_settings()
    chosen = [q.strip() for q in (queues or settings.worker_queues).split(",") if q.strip()]
    unknown = sorted(set(chosen) - set(QUEUES))
    if not chosen or unknown:
        console.print(f"[red]unknown queue(s) {unknown or chosen}; choose from {', '.join(QUEUES)}[/red]")
        raise typer.Exit(2)
    threads = concurrency or settings.worker_concurrency or settings.worker_count
    sized = shared_core_settings(settings, threads)
    if sized:  # the job threads share the cores; the tasks read the settings again, so set them process-wide
        os.environ.update(sized)
        get_settings.cache_clear()
        settings = get_settings()
    prepare_process(settings)
    port = settings.worker_metrics_port if metrics_port is None else metrics_port
    if port:
        from medialens.observability.metrics import serve_worker_metrics

        try:
            serve_worker_metrics(port)
        except OSError as err:  # a busy port must not keep the worker from working
            console.print(f"[yellow]worker metrics not served on port {port}: {err}[/yellow]")
    # One process, a pool of threads: models load once per process and stay loaded; the work releases the GIL.
    celery_app.worker_main(
        [
            "worker",
            "--pool=threads",
            f"--concurrency={threads}",
            f"--queues={','.join(chosen)}",
            f"--hostname=medialens-{os.getpid()}@{socket.gethostname()}",
            f"--loglevel={loglevel}",
            "--without-gossip",
            "--without-mingle",
        ]
    )


@apps_app.command("create")
def apps_create(
    name: Annotated[str, typer.Option("--name", help="A name to recognise the app by.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print {app_id, token} as JSON.")] = False,
) -> None:
    """Create an app and print its AppId and Token."""
    from medialens.store.apps import create_app as create

    new = create(_db(), name)
    if as_json:
        typer.echo(json.dumps({"app_id": new.app_id, "token": new.token}))
    else:
        console.print(f"AppId: [bold]{new.app_id}[/bold]\nToken: [bold]{new.token}[/bold]")


@apps_app.command("list")
def apps_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List apps (tokens are not shown)."""
    from medialens.store.apps import list_apps

    rows = list_apps(_db())
    if as_json:
        typer.echo(json.dumps([{"app_id": a.app_id, "name": a.name} for a in rows]))
        return
    table = Table("AppId", "name", "created")
    for a in rows:
        table.add_row(a.app_id, a.name, a.created_at.isoformat(timespec="seconds"))
    console.print(table)


@apps_app.command("delete")
def apps_delete(app_id: str) -> None:
    """Delete an app and its jobs."""
    from medialens.store.apps import delete_app

    if not delete_app(_db(), app_id):
        console.print(f"[red]no app {app_id}[/red]")
        raise typer.Exit(1)
    console.print(f"deleted {app_id}")


STATE_NAMES = {0: "initializing", 1: "running", 2: "completed", 3: "failed"}


@jobs_app.command("list")
def jobs_list(
    limit: Annotated[int, typer.Option(help="How many of the newest jobs.")] = 20,
    state: Annotated[int | None, typer.Option(help="Only jobs in this state (0-3).")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List the newest jobs."""
    from medialens.store.jobs import list_jobs

    rows = list_jobs(_db(), limit=limit, state=state)
    if as_json:
        typer.echo(json.dumps([_job_dict(j) for j in rows]))
        return
    table = Table("id", "batch", "task", "state", "message", "created")
    for j in rows:
        table.add_row(
            str(j.id),
            str(j.batch_id or ""),
            j.task,
            STATE_NAMES.get(j.state, str(j.state)),
            j.message[:60],
            j.create_time.isoformat(timespec="seconds"),
        )
    console.print(table)


@jobs_app.command("show")
def jobs_show(job_id: int) -> None:
    """Show one job with its inputs and result."""
    from medialens.store.jobs import get_job

    job = get_job(_db(), job_id)
    if job is None:
        console.print(f"[red]no job {job_id}[/red]")
        raise typer.Exit(1)
    typer.echo(json.dumps(_job_dict(job), indent=2, ensure_ascii=False))


def _job_dict(j) -> dict:
    return {
        "id": j.id,
        "app_id": j.app_id,
        "batch_id": j.batch_id,
        "task": j.task,
        "state": j.state,
        "message": j.message,
        "inputs": j.inputs,
        "result": j.result,
        "attempts": j.attempts,
        "create_time": j.create_time.isoformat(timespec="milliseconds"),
    }


if __name__ == "__main__":
    app()
