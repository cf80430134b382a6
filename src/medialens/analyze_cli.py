"""`medialens analyze` and `medialens watch`: analyse files, folders, globs, list files and URLs, in this process or
on a medialens server (``--server``), with a progress bar for batches and a results file (JSONL or CSV)."""

from __future__ import annotations

import base64
import csv
import glob
import json
import os
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

console = Console(soft_wrap=True)  # result lines are data: never wrapped, whatever the terminal width
err_console = Console(stderr=True, soft_wrap=True)  # a path or a summary line is never cut

IMAGE_EXT = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif", ".tif", ".tiff"}
VIDEO_EXT = {".mp4", ".mkv", ".avi", ".mov", ".webm", ".m4v", ".mpg", ".mpeg", ".flv", ".wmv", ".ts"}
AUDIO_EXT = {".wav", ".flac", ".ogg", ".mp3", ".m4a", ".opus", ".aac"}
MEDIA_EXT = IMAGE_EXT | VIDEO_EXT | AUDIO_EXT
LIST_EXT = {".txt", ".lst", ".list"}

# Short names people type, per media kind; any full task name (GET /v1/tasks, `medialens analyze --task list`)
# works too.
ALIASES: dict[str, dict[str, str]] = {
    "quality": {"image": "image_quality", "video": "video_quality"},
    "tags": {"image": "image_tags", "video": "video_classify"},
    "classify": {"video": "video_classify"},
    "faces": {"image": "face_attributes"},
    "age": {"image": "face_age"},
    "anime": {"image": "anime_tags"},
    "transcribe": {"audio": "transcribe", "video": "transcribe"},
    "speech": {"audio": "transcribe", "video": "transcribe"},
}


def media_kind(source: str) -> str:
    suffix = Path(source.split("?", 1)[0]).suffix.lower()
    if suffix in VIDEO_EXT:
        return "video"
    if suffix in AUDIO_EXT:
        return "audio"
    return "image"


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def resolve_task(name: str, kind: str, known: dict[str, str]) -> str:
    """The task to run on media of ``kind`` for what was typed: an alias, or a task name (``known``: name → kind)."""
    if name in ALIASES:
        task = ALIASES[name].get(kind)
        if task is None:
            takes = " or ".join(ALIASES[name])
            raise ValueError(f"--task {name} takes {takes} files, not {kind}")
        return task
    if name not in known:
        raise ValueError(f"no task {name!r}; choose an alias ({', '.join(ALIASES)}) or a task ({', '.join(known)})")
    return name


def expand_inputs(args: Iterable[str]) -> tuple[list[str], bool]:
    """Files and URLs to analyse, and whether they make a batch (a folder, a glob, a list file or several)."""
    found: list[str] = []
    batch = False
    for arg in args:
        path = Path(arg).expanduser()
        if is_url(arg):
            found.append(arg)
        elif path.is_dir():
            batch = True
            found += sorted(str(p) for p in path.rglob("*") if p.is_file() and p.suffix.lower() in MEDIA_EXT)
        elif path.is_file() and path.suffix.lower() in LIST_EXT:
            batch = True
            lines = path.read_text(encoding="utf-8").splitlines()
            found += [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
        elif path.is_file():
            found.append(str(path))
        elif glob.has_magic(arg):
            batch = True
            found += sorted(p for p in glob.glob(os.path.expanduser(arg), recursive=True) if Path(p).is_file())
        else:
            raise ValueError(f"{arg}: no such file, folder or URL")
    return found, batch or len(found) > 1


def parse_options(pairs: list[str]) -> dict[str, Any]:
    """``key=value`` pairs; values are read as JSON when they parse (5, true, 0.5), else kept as text."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--option {pair!r}: expected key=value")
        try:
            options[key] = json.loads(value)
        except ValueError:
            options[key] = value
    return options


# --- where the work runs -------------------------------------------------------------------------------------------
Progress_ = Callable[[str], None]


class LocalRunner:
    """Runs tasks in this process (models load once and stay loaded)."""

    def __init__(self) -> None:
        from medialens.config import get_settings
        from medialens.tasks import TASKS

        self.settings = get_settings()
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.kinds = {name: spec.media_kind for name, spec in TASKS.items()}
        from medialens.core import Core

        self.core = Core(self.settings, None, None)  # type: ignore[arg-type] - no database: options, models, blobs

    def run(self, task: str, source: str, options: dict[str, Any], report: Progress_) -> Any:
        from medialens.core.errors import CoreError, translate
        from medialens.tasks import TaskContext, TaskInput

        core = self.core
        spec = core.require(task)
        opts = core.options(task, options, strict=True).model_dump()
        workdir = Path(tempfile.mkdtemp(prefix="analyze-", dir=self.settings.scratch_dir))
        ctx = TaskContext(settings=self.settings, workdir=workdir, report=report)
        key = None
        try:
            if is_url(source):
                given = TaskInput(url=source, options=opts)
            elif spec.media_kind == "image":
                data = base64.b64encode(Path(source).read_bytes()).decode("ascii")
                given = TaskInput(data_base64=data, options=opts)
            else:
                key = f"media/cli/tmp-{secrets.token_hex(16)}"
                core.blobs().put_file(key, Path(source))
                given = TaskInput(media=key, options=opts)
            return spec.run(ctx, given)
        except CoreError:
            raise
        except Exception as err:
            raise translate(err, task) from err
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
            if key is not None:
                core.blobs().delete(key)


class RemoteRunner:
    """Runs tasks on a medialens server through ``medialens.client``."""

    def __init__(self, server: str, credentials: str | None) -> None:
        from medialens.client import Client

        self.client = Client(server, credentials)
        self.kinds = {t.name: t.media_kind for t in self.client.tasks()}

    def run(self, task: str, source: str, options: dict[str, Any], report: Progress_) -> Any:
        if self.kinds.get(task) == "image":
            return self.client.analyze(task, source, options)
        job = self.client.submit(task, source, options)
        return self.client.wait(job, on_progress=lambda j: report(j.message or j.state_name)).result


def error_text(err: Exception) -> str:
    return getattr(err, "message", None) or str(err) or type(err).__name__


# --- results -------------------------------------------------------------------------------------------------------
@dataclass
class Row:
    input: str
    task: str
    ok: bool
    seconds: float
    result: dict[str, Any] | None = None
    error: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "input": self.input,
            "task": self.task,
            "ok": self.ok,
            "error": self.error or None,
            "seconds": round(self.seconds, 3),
            "result": self.result,
        }


def _short(value: Any) -> str | None:
    """A result value as one cell: scalars as they are, labels as 'name 0.93; ...', long vectors left out."""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, str | int | bool) or value is None:
        return None if value is None else str(value)
    if isinstance(value, list):
        if value and all(isinstance(v, int | float) for v in value):
            return f"[{len(value)} numbers]" if len(value) > 8 else ", ".join(f"{v:.4g}" for v in value)
        if value and all(isinstance(v, dict) and "name" in v for v in value):
            return "; ".join(f"{v['name']} {v.get('score', 0):.2f}" if "score" in v else v["name"] for v in value)
        return f"[{len(value)} items]" if len(json.dumps(value)) > 200 else json.dumps(value, ensure_ascii=False)
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 200 else f"{{{len(value)} fields}}"


def flat(result: dict[str, Any] | None) -> dict[str, str]:
    return {k: s for k, v in (result or {}).items() if (s := _short(v)) is not None}


class ResultsFile:
    """One row per input: JSONL written as it goes, or CSV (its columns are the union of every result's fields,
    so it is written at the end)."""

    def __init__(self, path: Path | None, *, append: bool = False) -> None:
        self.path, self.rows = path, []
        self.csv = path is not None and path.suffix.lower() == ".csv"
        if path is not None and path.suffix.lower() not in (".csv", ".jsonl", ".json", ".ndjson"):
            raise ValueError(f"--output {path}: use a .jsonl or .csv file")
        self._out: IO[str] | None = None
        self._append = append
        if path is not None and not self.csv:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._out = path.open("a" if append else "w", encoding="utf-8")
        self._lock = threading.Lock()

    def add(self, row: Row) -> None:
        with self._lock:
            self.rows.append(row)
            if self._out is not None:
                self._out.write(json.dumps(row.as_json(), ensure_ascii=False) + "\n")
                self._out.flush()
            elif self.csv and self._append:
                self._write_csv([row], append=True)

    def _write_csv(self, rows: list[Row], *, append: bool = False) -> None:
        assert self.path is not None
        base = ["input", "task", "ok", "error", "seconds"]
        flats = [flat(r.result) for r in rows]
        extra = list(dict.fromkeys(k for f in flats for k in f))
        new = not append or not self.path.exists() or self.path.stat().st_size == 0
        if append and not new:  # keep the header the file already has
            with self.path.open(encoding="utf-8", newline="") as f:
                extra = [c for c in next(csv.reader(f), base) if c not in base]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a" if append else "w", encoding="utf-8", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=base + extra, extrasaction="ignore")
            if new:
                writer.writeheader()
            for r, fr in zip(rows, flats, strict=True):
                writer.writerow(
                    {"input": r.input, "task": r.task, "ok": r.ok, "error": r.error}
                    | fr
                    | {"seconds": f"{r.seconds:.3f}"}
                )

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
        elif self.csv and not self._append:
            self._write_csv(self.rows)


def analyse_one(runner: Any, alias: str, source: str, options: dict[str, Any], report: Progress_) -> Row:
    started = time.monotonic()
    task = alias
    try:
        task = resolve_task(alias, media_kind(source), runner.kinds)
        result = runner.run(task, source, options, report)
        data = result.model_dump(mode="json") if hasattr(result, "model_dump") else result
        return Row(source, task, True, time.monotonic() - started, result=data)
    except Exception as err:  # one bad file must not end a batch
        return Row(source, task, False, time.monotonic() - started, error=error_text(err)[:500])


class RateColumn(ProgressColumn):
    """Files per second over the whole run so far (rich's own speed is over recent steps: jumpy for a batch whose
    files take very different times)."""

    def render(self, task: Task) -> Text:
        elapsed = task.finished_time if task.finished else task.elapsed
        rate = task.completed / elapsed if elapsed and task.completed else 0.0
        return Text(f"{rate:.2f} files/s" if rate else "- files/s", style="progress.data.speed")


class EtaColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        elapsed = task.elapsed or 0.0
        if task.finished or not task.completed or task.total is None:
            return Text("ETA -" if not task.finished else "", style="progress.remaining")
        left = elapsed / task.completed * (task.total - task.completed)
        return Text(f"ETA {int(left) // 60}:{int(left) % 60:02d}", style="progress.remaining")


def batch_progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("files"),
        RateColumn(),
        TimeElapsedColumn(),
        EtaColumn(),
        console=err_console,
    )


def summary_line(rows: list[Row], seconds: float, output: Path | None) -> str:
    ok = sum(r.ok for r in rows)
    rate = len(rows) / seconds if seconds > 0 else 0.0
    where = f"; results in {output}" if output else ""
    return (
        f"analysed {len(rows)} file{'s' if len(rows) != 1 else ''} in {seconds:.1f} s ({rate:.2f} files/s): "
        f"{ok} ok, {len(rows) - ok} failed{where}"
    )


def print_result(row: Row) -> None:
    if not row.ok:
        err_console.print(f"[red]{row.input}: {row.error}[/red]", highlight=False)
        return
    table = Table(title=f"{row.task} · {row.input}", title_justify="left", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for key, value in (row.result or {}).items():
        if isinstance(value, list) and value and all(isinstance(v, dict) and "name" in v for v in value):
            for i, v in enumerate(value):
                score = v.get("score")
                bar = "█" * round(score * 20) if isinstance(score, int | float) and 0 <= score <= 1 else ""
                shown = f"{score:.3f}" if isinstance(score, int | float) else ""
                table.add_row(key if i == 0 else "", f"{v['name']:<18} {shown:>6}  {bar}")
        elif (cell := _short(value)) is not None:
            table.add_row(key, cell)
    console.print(table)


def make_runner(server: str | None, credentials: str | None) -> Any:
    return RemoteRunner(server, credentials) if server else LocalRunner()


# --- the commands --------------------------------------------------------------------------------------------------
TaskOpt = Annotated[
    str,
    typer.Option("--task", "-t", help=f"An alias ({', '.join(ALIASES)}: chosen by each file's kind) or a task name."),
]
OptionOpt = Annotated[list[str], typer.Option("--option", "-o", help="A task option, key=value (repeatable).")]
OutputOpt = Annotated[
    Path | None, typer.Option("--output", help="Write one row per input to this file: .jsonl or .csv.")
]
ServerOpt = Annotated[
    str | None,
    typer.Option(help="Run on this medialens server (default: in this process).", envvar="MEDIALENS_URL"),
]
CredentialsOpt = Annotated[
    str | None,
    typer.Option(help="AppId:Token for --server.", envvar="MEDIALENS_CREDENTIALS", show_envvar=True),
]


def analyze(
    inputs: Annotated[list[str], typer.Argument(help="Files, folders, globs, list files (.txt) or URLs.")],
    task: TaskOpt = "quality",
    option: OptionOpt = [],  # noqa: B006 - typer reads the default
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (one line per input) instead of tables.")] = False,
    output: OutputOpt = None,
    server: ServerOpt = None,
    credentials: CredentialsOpt = None,
    workers: Annotated[int, typer.Option(min=1, max=32, help="Files analysed at once.")] = 2,
) -> None:
    """Analyse media now: one file prints its result; a folder, glob, list file or several inputs make a batch
    with a progress bar and a one-line summary (and --output writes every row)."""
    try:
        sources, batch = expand_inputs(inputs)
        options = parse_options(option)
        results = ResultsFile(output)
    except ValueError as err:
        err_console.print(f"[red]{err}[/red]", highlight=False)
        raise typer.Exit(2) from None
    if not sources:
        err_console.print("[yellow]no media files found[/yellow]")
        raise typer.Exit(1)
    runner = make_runner(server, credentials)
    started = time.monotonic()
    if not batch:
        with err_console.status(f"{task} · {sources[0]}") as status:
            row = analyse_one(runner, task, sources[0], options, lambda m: status.update(f"{task} · {m}"))
        results.add(row)
        results.close()
        if as_json:
            typer.echo(json.dumps(row.as_json(), ensure_ascii=False))
        else:
            print_result(row)
        err_console.print(summary_line([row], time.monotonic() - started, output), highlight=False, soft_wrap=True)
        raise typer.Exit(0 if row.ok else 1)
    with batch_progress() as progress, ThreadPoolExecutor(max_workers=workers) as pool:
        bar = progress.add_task(f"{task}", total=len(sources))
        futures = [pool.submit(analyse_one, runner, task, s, options, lambda _m: None) for s in sources]
        for future in as_completed(futures):
            row = future.result()
            results.add(row)
            progress.advance(bar)
            if as_json:
                typer.echo(json.dumps(row.as_json(), ensure_ascii=False))
            elif not row.ok:
                progress.console.print(f"[red]{row.input}: {row.error}[/red]", highlight=False)
    results.close()
    err_console.print(summary_line(results.rows, time.monotonic() - started, output), highlight=False)
    raise typer.Exit(0 if all(r.ok for r in results.rows) else 1)


@dataclass
class _Seen:
    size: int
    mtime: float
    stable: int = 0
    done: bool = False


@dataclass
class Watcher:
    """Finds new media files in a folder: a file counts once its size and time held still for one poll."""

    folder: Path
    seen: dict[Path, _Seen] = field(default_factory=dict)

    def poll(self) -> list[Path]:
        ready = []
        for path in sorted(self.folder.rglob("*")):
            if not path.is_file() or path.suffix.lower() not in MEDIA_EXT or path.name.startswith("."):
                continue
            try:
                st = path.stat()
            except OSError:
                continue
            old = self.seen.get(path)
            if old is None or (old.size, old.mtime) != (st.st_size, st.st_mtime):
                self.seen[path] = _Seen(st.st_size, st.st_mtime, done=old.done if old else False)
                if old is not None and old.done:
                    self.seen[path].done = False  # rewritten: analyse again once it settles
                continue
            if not old.done:
                old.done = True
                ready.append(path)
        return ready

    def skip_existing(self) -> None:
        for path in self.folder.rglob("*"):
            if path.is_file():
                st = path.stat()
                self.seen[path] = _Seen(st.st_size, st.st_mtime, done=True)


def watch(
    folder: Annotated[Path, typer.Argument(help="The folder to watch (and its subfolders).")],
    task: TaskOpt = "quality",
    option: OptionOpt = [],  # noqa: B006
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON line per file.")] = False,
    output: Annotated[
        Path | None, typer.Option("--output", help="Append one row per file to this file: .jsonl or .csv.")
    ] = None,
    server: ServerOpt = None,
    credentials: CredentialsOpt = None,
    interval: Annotated[float, typer.Option(min=0.05, help="Seconds between looks at the folder.")] = 1.0,
    existing: Annotated[bool, typer.Option(help="Also analyse the files already there.")] = False,
    max_files: Annotated[int | None, typer.Option(help="Stop after this many files.")] = None,
    timeout: Annotated[float | None, typer.Option(help="Stop after this many seconds.")] = None,
) -> None:
    """Analyse new media files as they arrive in FOLDER, until Ctrl+C (or --max-files / --timeout); ends with a
    one-line summary."""
    if not folder.is_dir():
        err_console.print(f"[red]{folder}: not a folder[/red]")
        raise typer.Exit(2)
    try:
        options = parse_options(option)
        results = ResultsFile(output, append=True)
    except ValueError as err:
        err_console.print(f"[red]{err}[/red]", highlight=False)
        raise typer.Exit(2) from None
    runner = make_runner(server, credentials)
    watcher = Watcher(folder)
    if not existing:
        watcher.skip_existing()
    started = time.monotonic()
    err_console.print(f"watching {folder} for new media ({task}); Ctrl+C stops", highlight=False)
    try:
        while max_files is None or len(results.rows) < max_files:
            if timeout is not None and time.monotonic() - started >= timeout:
                break
            for path in watcher.poll():
                row = analyse_one(runner, task, str(path), options, lambda _m: None)
                results.add(row)
                if as_json:
                    typer.echo(json.dumps(row.as_json(), ensure_ascii=False))
                else:
                    brief = ", ".join(f"{k}={v}" for k, v in list(flat(row.result).items())[:4])
                    line = f"{row.input}: {brief}" if row.ok else f"[red]{row.input}: {row.error}[/red]"
                    console.print(line, highlight=False)
                if max_files is not None and len(results.rows) >= max_files:
                    break
            else:
                time.sleep(interval)
    except KeyboardInterrupt:
        pass
    results.close()
    err_console.print(summary_line(results.rows, time.monotonic() - started, output), highlight=False)


def iter_rows(path: Path) -> Iterator[dict[str, Any]]:
    """The rows of a results file (JSONL or CSV), for scripts and tests."""
    if path.suffix.lower() == ".csv":
        with path.open(encoding="utf-8", newline="") as f:
            yield from csv.DictReader(f)
    else:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                yield json.loads(line)


def register(app: typer.Typer) -> None:
    app.command()(analyze)
    app.command()(watch)
