"""`medialens models list|pull|verify|remove`: the operator's view of the model directory."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from medialens.models.errors import ModelError
from medialens.models.installed import list_models, pull_many, remove, verify
from medialens.models.registry import bundle_specs, get_spec

models_app = typer.Typer(help="Show, install, verify and remove model weights.", no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)


def _size(n: int) -> str:
    if n == 0:
        return "-"
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"  # pragma: no cover


@models_app.command("list")
def list_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Every known model: installed or not, where it comes from, its size and licence."""
    rows = list_models()
    if as_json:
        typer.echo(json.dumps([r.to_dict() for r in rows], indent=2))
        return
    table = Table(title="medialens models")
    for col in ("name", "task", "installed", "source", "size", "licence"):
        table.add_column(col, no_wrap=col in ("name", "size"), overflow="fold")
    for r in rows:
        if r.installed:
            state = "[green]yes[/green]"
        elif r.problem:
            state = f"[red]broken[/red] ({r.problem}): {r.hint}"
        else:
            state = f"[yellow]no[/yellow]: {r.hint}"
        table.add_row(r.name, r.task, state, r.source, _size(r.size_bytes), r.licence)
    console.print(table)
    if not all(r.installed for r in rows):
        console.print("Install everything that ships offline with `medialens models pull --bundle offline`.")


@models_app.command("pull")
def pull_cmd(
    name: Annotated[str | None, typer.Argument(help="Model to install.")] = None,
    bundle: Annotated[str | None, typer.Option("--bundle", help="Install a whole bundle: offline or hub.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Download again even if installed.")] = False,
) -> None:
    """Download, check and install a model (or a bundle) into the model directory."""
    if (name is None) == (bundle is None):
        err_console.print("give a model NAME or --bundle offline|hub")
        raise typer.Exit(2)
    try:
        names = [get_spec(name).name] if name else [s.name for s in bundle_specs(bundle or "")]
    except ModelError as err:
        err_console.print(str(err))
        raise typer.Exit(2) from None
    if not names:
        err_console.print(f"bundle {bundle!r} has no models")
        raise typer.Exit(2)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task("", total=None)

        def on_start(model: str) -> None:
            bar.update(task, description=model, completed=0, total=None)

        def progress(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        results = pull_many(names, progress, force=force, on_start=on_start)
    failed = 0
    for model, result in results.items():
        if isinstance(result, Exception):
            failed += 1
            err_console.print(f"[red]✗[/red] {model}: {result}")
        else:
            console.print(f"[green]✓[/green] {model}: {result}")
    if failed:
        raise typer.Exit(1)


@models_app.command("verify")
def verify_cmd(
    name: Annotated[str | None, typer.Argument(help="Model to check; default: all installed.")] = None,
) -> None:
    """Rehash installed files against their manifests; exit 1 on any problem."""
    try:
        names = [get_spec(name).name] if name else [r.name for r in list_models() if r.installed or r.problem]
    except ModelError as err:
        err_console.print(str(err))
        raise typer.Exit(2) from None
    bad = 0
    for model in names:
        problems = verify(model)
        if problems:
            bad += 1
            for p in problems:
                console.print(f"[red]✗[/red] {model}: {p}")
        else:
            console.print(f"[green]✓[/green] {model}: ok")
    if not names:
        console.print("no models installed")
    if bad:
        raise typer.Exit(1)


@models_app.command("remove")
def remove_cmd(
    name: Annotated[str, typer.Argument(help="Model to delete from the model directory.")],
) -> None:
    """Delete an installed model."""
    try:
        removed = remove(name)
    except ModelError as err:
        err_console.print(str(err))
        raise typer.Exit(2) from None
    console.print(f"removed {name}" if removed else f"{name} is not installed")
