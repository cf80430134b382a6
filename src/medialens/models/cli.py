"""`medialens models list|pull|verify|remove`: the operator's view of the model directory."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from medialens.config import get_settings
from medialens.models.errors import ModelError
from medialens.models.installed import ModelStatus, installed, list_models, pull_many, remove, verify
from medialens.models.registry import bundle_specs, get_spec

# Plain click help: typer's rich help shows every flag as `--json <bool>`, as if it took a value.
models_app = typer.Typer(
    help="Show, install, verify and remove model weights.", no_args_is_help=True, rich_markup_mode=None
)
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


def _state(r: ModelStatus) -> str:
    if r.installed:
        return "[green]yes[/green]"
    return "[red]broken[/red]" if r.problem else "[yellow]no[/yellow]"


def models_table(rows: list[ModelStatus], *, wide: bool = False) -> Table:
    """The compact table fits an 80-column terminal (one line per model); ``wide`` adds task, runtime, source,
    version and the pull hint, for wider screens."""
    if wide:
        table = Table(title="medialens models")
        for col in ("name", "task", "runtime", "installed", "bundle", "source", "version", "size", "licence", "hint"):
            table.add_column(col, no_wrap=col in ("name", "size"), overflow="fold")
        for r in rows:
            hint = f"{r.problem}: {r.hint}" if r.problem else (r.hint or "")
            table.add_row(
                r.name,
                r.task,
                r.runtime,
                _state(r),
                r.bundle,
                escape(r.source),
                r.version,
                _size(r.size_bytes),
                r.licence,
                escape(hint),
            )
        return table
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for col in ("name", "bundle", "installed", "size", "licence"):
        table.add_column(col, no_wrap=True, justify="right" if col == "size" else "left")
    for r in rows:
        table.add_row(r.name, r.bundle, _state(r), _size(r.size_bytes), r.licence)
    return table


@models_app.command("list")
def list_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output, every field.")] = False,
    wide: Annotated[bool, typer.Option("--wide", help="Also task, runtime, source, version and hints.")] = False,
) -> None:
    """Every known model: installed or not, its bundle, size and licence (--wide or --json for details)."""
    rows = list_models()
    if as_json:
        typer.echo(json.dumps([r.to_dict() for r in rows], indent=2))
        return
    console.print(models_table(rows, wide=wide))
    done = [r for r in rows if r.installed]
    console.print(
        f"{len(done)} of {len(rows)} installed ({_size(sum(r.size_bytes for r in done))}) "
        f"in {escape(str(get_settings().resolved_model_dir))}"
    )
    for r in rows:
        if r.problem and not wide:
            console.print(f"[red]{escape(r.name)}[/red]: {escape(r.problem)}; run `{escape(r.hint or '')}`")
    if any(not r.installed and r.bundle == "offline" for r in rows):
        console.print("Install the offline bundle with `medialens models pull --bundle offline`.")
    missing = [r.name for r in rows if not r.installed]
    if missing:
        console.print(f"Install one with `medialens models pull {missing[0]}` (any NAME above).")


@models_app.command("dir")
def dir_cmd() -> None:
    """Print the model folder (MEDIALENS_MODEL_DIR, else <MEDIALENS_DATA_DIR>/models): `make test` uses it too."""
    typer.echo(str(get_settings().resolved_model_dir))


class _PullDisplay:
    """Follows a pull: a progress bar (model, file, bytes, speed) on a terminal, plain lines in logs and CI."""

    def __init__(self, bar: Progress, names: list[str], ready: set[str]) -> None:
        self.bar, self.names, self.ready = bar, names, ready
        self.task = bar.add_task("", total=None)
        self.live = err_console.is_terminal
        self.index, self.model, self.downloaded, self.current = 0, "", 0, 0
        self.started = self.model_started = time.monotonic()
        self.model_bytes = 0
        self.failed: list[str] = []

    def _label(self, file: str = "") -> str:
        label = f"[{self.index}/{len(self.names)}] {self.model}" + (f" · {file}" if file else "")
        return escape(label)

    def on_start(self, model: str) -> None:
        self.index, self.model, self.model_started = self.index + 1, model, time.monotonic()
        self.model_bytes = self.downloaded
        self.bar.update(self.task, description=self._label(), completed=0, total=None)
        if not self.live and model not in self.ready:
            err_console.print(f"{self._label()}: pulling", soft_wrap=True)

    def on_download(self, url: str) -> None:
        self.downloaded += self.current
        self.current = 0
        file = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        self.bar.update(self.task, description=self._label(file), completed=0, total=None)
        if not self.live:
            err_console.print(f"{self._label(file)}: downloading", soft_wrap=True)

    def progress(self, done: int, total: int | None) -> None:
        self.current = done
        self.bar.update(self.task, completed=done, total=total)

    def on_done(self, model: str, result: Path | ModelError) -> None:
        self.downloaded += self.current
        self.current = 0
        if isinstance(result, Exception):
            self.failed.append(model)
            err_console.print(f"[red]✗[/red] {escape(model)}: {escape(str(result))}", soft_wrap=True)
        elif model not in self.ready:  # the summary counts those already installed
            got = self.downloaded - self.model_bytes
            took = time.monotonic() - self.model_started
            console.print(f"[green]✓[/green] {escape(model)}: {_size(got)} downloaded in {took:.1f} s")

    def summary(self, root: Path) -> str:
        ok = len(self.names) - len(self.failed)
        pulled = ok - len(self.ready & set(self.names))
        took = time.monotonic() - self.started
        if pulled:
            done = f"{pulled} pulled ({_size(self.downloaded)} in {took:.0f} s), {len(self.ready)} already installed"
        else:
            done = "all already installed" if not self.failed else "none pulled"
        line = f"{ok} of {len(self.names)} model(s) ready in {root} ({done})"
        return line + (f"; failed: {', '.join(self.failed)}" if self.failed else "")


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
    settings = get_settings()
    root = settings.resolved_model_dir
    ready = set() if force else {n for n in names if installed(n, settings)}
    err_console.print(
        f"Pulling {len(names)} model(s) into {escape(str(root))} ({len(ready)} already installed)",
        highlight=False,
        soft_wrap=True,
    )
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err_console, transient=True) as bar:
        display = _PullDisplay(bar, names, ready)
        pull_many(
            names,
            display.progress,
            force=force,
            on_start=display.on_start,
            on_download=display.on_download,
            on_done=display.on_done,
        )
    console.print(escape(display.summary(root)), highlight=False, soft_wrap=True)
    if display.failed:
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
    else:
        console.print(f"{len(names)} model(s) verified: {len(names) - bad} intact, {bad} with problems")
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
