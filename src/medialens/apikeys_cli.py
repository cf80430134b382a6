"""`medialens apikeys`: API keys for the video-index protocol (Twelve Labs clients send them as ``x-api-key``)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

apikeys_app = typer.Typer(
    help="API keys for the video-index protocol (x-api-key, Twelve Labs clients).",
    no_args_is_help=True,
    rich_markup_mode=None,
)
console = Console()


def _db():
    from medialens.cli import _db as open_db

    return open_db()


@apikeys_app.command("create")
def apikeys_create(
    as_json: Annotated[bool, typer.Option("--json", help='Print {"api_key": ...} as JSON.')] = False,
) -> None:
    """Create an API key and print it (it is shown only this once)."""
    from medialens.store.video_index import create_api_key

    key, _row = create_api_key(_db())
    if as_json:
        typer.echo(json.dumps({"api_key": key}))
    else:
        console.print(f"API key: [bold]{key}[/bold]")


@apikeys_app.command("list")
def apikeys_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List API keys by their prefix (keys themselves are not stored)."""
    from medialens.store.video_index import list_api_keys

    rows = list_api_keys(_db())
    if as_json:
        typer.echo(json.dumps([{"prefix": r.prefix, "created_at": r.created_at.isoformat()} for r in rows]))
        return
    table = Table("prefix", "created")
    for r in rows:
        table.add_row(r.prefix, r.created_at.isoformat(timespec="seconds"))
    console.print(table)


@apikeys_app.command("delete")
def apikeys_delete(
    key: Annotated[str, typer.Argument(help="The key, or its prefix as `apikeys list` shows it.")],
) -> None:
    """Delete an API key with its indexes and jobs."""
    from medialens.store.video_index import delete_api_key

    if not delete_api_key(_db(), key):
        console.print(f"[red]no API key {key}[/red]")
        raise typer.Exit(1)
    console.print(f"deleted {key}")
