"""`medialens services`: deploy Model Hub models as prediction services (EAS protocol), list, undeploy, rotate."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from medialens.config import get_settings

services_app = typer.Typer(
    help="Model Hub models as online prediction services (POST /api/predict/NAME, the eas-prediction client).",
    no_args_is_help=True,
)
console = Console()


def _ctx():
    from medialens.store.db import Database

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url)
    db.migrate()
    return db, settings


def _url(name: str, host: str | None, port: int | None) -> str:
    s = get_settings()
    return f"http://{host or s.host}:{port or s.port}/api/predict/{name}"


@services_app.command("deploy")
def deploy(
    model: Annotated[str, typer.Argument(help="A Model Hub model: image_classification, ocr, face_similarity, ...")],
    name: Annotated[str | None, typer.Option("--name", help="Service name (default: the model's name).")] = None,
    host: Annotated[str | None, typer.Option(help="Host for the printed URL (default MEDIALENS_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port for the printed URL (default MEDIALENS_PORT).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help='Print {"name", "token", "url"} as JSON.')] = False,
) -> None:
    """Create a service for MODEL and print its name, token and URL."""
    from medialens.core import CoreError
    from medialens.core.services import deploy as do_deploy

    db, settings = _ctx()
    try:
        svc = do_deploy(db, settings, model, name)
    except CoreError as err:
        console.print(f"[red]{err.message}[/red]")
        raise typer.Exit(1) from None
    url = _url(svc.name, host, port)
    if as_json:
        typer.echo(json.dumps({"name": svc.name, "token": svc.token, "url": url}))
    else:
        console.print(f"service: [bold]{svc.name}[/bold]\ntoken:   [bold]{svc.token}[/bold]\nurl:     {url}")
        console.print(f"model:   {svc.description}")


@services_app.command("list")
def list_services(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List services, the model each runs, and whether its weights are installed (tokens are not shown)."""
    from medialens.core.services import list_all

    db, settings = _ctx()
    rows = list_all(db, settings)
    if as_json:
        out = [
            {
                "name": s.name,
                "model": s.model,
                "description": s.description,
                "deployed": s.available,
                "hint": s.hint,
                "url": _url(s.name, None, None),
                "created_at": s.created_at.isoformat(timespec="seconds"),
            }
            for s in rows
        ]
        typer.echo(json.dumps(out, ensure_ascii=False))
        return
    table = Table("name", "model", "ready", "runs")
    for s in rows:
        table.add_row(s.name, s.model, "yes" if s.available else f"no: {s.hint}", s.description)
    console.print(table)


@services_app.command("undeploy")
def undeploy(name: str) -> None:
    """Delete a service (its token stops working)."""
    from medialens.core.services import undeploy as do_undeploy

    db, _ = _ctx()
    if not do_undeploy(db, name):
        console.print(f"[red]no service {name}[/red]")
        raise typer.Exit(1)
    console.print(f"undeployed {name}")


@services_app.command("token")
def token(
    name: str,
    rotate: Annotated[bool, typer.Option("--rotate", help="Replace the token (the old one stops working).")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Print a service's token, or replace it with --rotate."""
    from medialens.core.services import get, rotate_token

    db, settings = _ctx()
    if rotate:
        new = rotate_token(db, name)
    else:
        svc = get(db, settings, name)
        new = svc.token if svc else None
    if new is None:
        console.print(f"[red]no service {name}[/red]")
        raise typer.Exit(1)
    typer.echo(json.dumps({"name": name, "token": new}) if as_json else new)
