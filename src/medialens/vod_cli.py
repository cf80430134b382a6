"""`medialens keys|media|faces`: AccessKeys for the VOD protocol, the media library and the face library."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from medialens.config import get_settings

keys_app = typer.Typer(
    help="AccessKey pairs (AccessKeyId + AccessKeySecret) for the VOD protocol.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
media_app = typer.Typer(
    help="The media library (VOD VideoIds / MediaIds).", no_args_is_help=True, rich_markup_mode=None
)
faces_app = typer.Typer(
    help="The face library that names persons in smart tags.", no_args_is_help=True, rich_markup_mode=None
)
console = Console()
err_console = Console(stderr=True)


def _core():
    from medialens.core import Core
    from medialens.store.db import Database

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url)
    db.migrate()
    return Core(settings, db, None)


@keys_app.command("create")
def keys_create(
    account: Annotated[
        str | None, typer.Option(help="Add the key to this account (an existing AppId); default: a new account.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print {access_key_id, access_key_secret} as JSON.")] = False,
) -> None:
    """Create an AccessKey pair; the secret is shown this once (it is stored encrypted)."""
    from medialens.core import keys

    core = _core()
    try:
        new = keys.create_key(core.db, core.settings, account)
    except KeyError:
        console.print(f"[red]no account {account}[/red]")
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps({"access_key_id": new.access_key_id, "access_key_secret": new.access_key_secret}))
    else:
        console.print(
            f"AccessKeyId:     [bold]{new.access_key_id}[/bold]\nAccessKeySecret: [bold]{new.access_key_secret}[/bold]"
            f"\naccount:         {new.account}\n(the secret is not shown again)",
            highlight=False,
        )


@keys_app.command("list")
def keys_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List AccessKeys (secrets are never shown)."""
    from medialens.core import keys

    rows = keys.list_keys(_core().db)
    if as_json:
        typer.echo(json.dumps([{"access_key_id": k.access_key_id, "account": k.account} for k in rows]))
        return
    table = Table("AccessKeyId", "account", "created")
    for k in rows:
        table.add_row(k.access_key_id, k.account, k.created_at.isoformat(timespec="seconds"))
    console.print(table)


@keys_app.command("delete")
def keys_delete(key_id: str) -> None:
    """Delete an AccessKey (requests signed with it are refused from then on)."""
    from medialens.core import keys

    if not keys.delete_key(_core().db, key_id):
        console.print(f"[red]no key {key_id}[/red]")
        raise typer.Exit(1)
    console.print(f"deleted {key_id}")


def _account(core, key_id: str | None) -> str:
    from medialens.core import keys

    rows = keys.list_keys(core.db)
    if key_id:
        rows = [k for k in rows if k.access_key_id == key_id]
    accounts = sorted({k.account for k in rows})
    if len(accounts) != 1:
        console.print("[red]name the account's AccessKey with --key (there is not exactly one account)[/red]")
        raise typer.Exit(2)
    return accounts[0]


@media_app.command("add")
def media_add(
    source: Annotated[str, typer.Argument(help="A video URL or a local file.")],
    title: Annotated[str, typer.Option(help="Title (default: the file name).")] = "",
    key: Annotated[str | None, typer.Option(help="The account of this AccessKeyId (default: the only one).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print {media_id} as JSON.")] = False,
) -> None:
    """Register a video: probed once, kept with a cover frame; a bad file is refused and nothing is kept."""
    from medialens.core import CoreError
    from medialens.core.vod import Vod

    core = _core()
    account = _account(core, key)
    started = time.monotonic()
    try:  # fetching a large video takes a while: a spinner with the time so far, then one line
        with err_console.status(f"registering {source} (fetch or copy, probe, cover frame)", spinner="dots"):
            media = Vod(core).register_media(account, source, title, local_path_ok=True)
    except CoreError as err:
        console.print(f"[red]refused: {err.message}[/red]")
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps({"media_id": media.media_id}))
    else:
        console.print(
            f"MediaId: [bold]{media.media_id}[/bold] ({media.duration_s:.1f} s, {media.width}x{media.height})"
        )
    elapsed = time.monotonic() - started
    err_console.print(f"registered {source} as {media.media_id} in {elapsed:.1f} s", highlight=False, soft_wrap=True)


@media_app.command("list")
def media_list(
    key: Annotated[str | None, typer.Option(help="The account of this AccessKeyId (default: the only one).")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List the newest media of an account."""
    from medialens.core.vod import Vod

    core = _core()
    items, _ = Vod(core).list_media(_account(core, key), page=1, size=100)
    if as_json:
        typer.echo(json.dumps([{"media_id": m.media_id, "title": m.title, "duration": m.duration_s} for m in items]))
        return
    table = Table("MediaId", "title", "duration", "size")
    for m in items:
        table.add_row(m.media_id, m.title, f"{m.duration_s:.1f}", f"{m.width}x{m.height}")
    console.print(table)


@faces_app.command("add")
def faces_add(
    name: Annotated[str, typer.Argument(help="The person's name, as smart tags will show it.")],
    image: Annotated[Path, typer.Argument(help="An image with the person's face (the largest face is used).")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Add a named face to the library."""
    from medialens.core import CoreError
    from medialens.core.vod import add_face

    try:
        face_id = add_face(_core(), name, image.read_bytes())
    except (CoreError, OSError) as err:
        console.print(f"[red]refused: {getattr(err, 'message', err)}[/red]")
        raise typer.Exit(1) from None
    typer.echo(json.dumps({"face_id": face_id, "name": name}) if as_json else f"added {name} (face {face_id})")


@faces_app.command("list")
def faces_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    from medialens.core.vod import list_faces

    rows = list_faces(_core())
    if as_json:
        typer.echo(json.dumps([{"face_id": i, "name": n} for i, n in rows]))
        return
    for i, n in rows:
        console.print(f"{i}\t{n}")


@faces_app.command("delete")
def faces_delete(face_id: int) -> None:
    from medialens.core.vod import delete_face

    if not delete_face(_core(), face_id):
        console.print(f"[red]no face {face_id}[/red]")
        raise typer.Exit(1)
    console.print(f"deleted face {face_id}")


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")
    app.add_typer(media_app, name="media")
    app.add_typer(faces_app, name="faces")
