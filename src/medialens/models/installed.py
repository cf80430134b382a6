"""The model directory: install, look up, verify and remove models atomically.

Layout: ``<model_dir>/<name>/`` holds the spec's files plus ``manifest.json`` (source, version, sha256 and
size of each file). A pull stages everything in ``<name>.partial-<random>`` and renames it into place only
when complete, so a crash or a failed checksum never leaves a half model where analyses look for it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from medialens import __version__
from medialens.config import Settings, get_settings
from medialens.models.errors import ModelError, ModelNotInstalledError, SourceError, UnknownModelError
from medialens.models.registry import get_spec
from medialens.models.spec import ModelSpec
from medialens.models.transfer import DIR_MODE, DownloadStart, FetchContext, Progress, new_client, sha256_file

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: pulls are not serialised between processes
    fcntl = None  # type: ignore[assignment]

MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1
_SAFE_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


@dataclass(frozen=True)
class ModelStatus:
    """One row of `medialens models list`."""

    name: str
    task: str
    runtime: str
    installed: bool
    source: str
    version: str
    size_bytes: int
    licence: str
    bundle: str
    path: str | None
    hint: str | None
    problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _settings(settings: Settings | None) -> Settings:
    return settings or get_settings()


def model_path(name: str, settings: Settings | None = None) -> Path:
    """Where ``name`` lives once installed (whether or not it is)."""
    if not _SAFE_NAME.match(name):
        raise UnknownModelError(name)
    return _settings(settings).resolved_model_dir / name


def pull_hint(name: str) -> str:
    return f"run `medialens models pull {name}`"


def read_manifest(path: Path) -> dict[str, Any]:
    with open(path / MANIFEST, encoding="utf-8") as fh:
        data = json.load(fh)
    if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
        raise ValueError("manifest has no files table")
    return data


def _problem(spec: ModelSpec, path: Path) -> str | None:
    """Why ``path`` is not a usable install of ``spec`` (cheap: existence and sizes; no rehash)."""
    if not path.is_dir():
        return "not installed"
    try:
        manifest = read_manifest(path)
    except (OSError, ValueError) as err:
        return f"unreadable manifest ({err})"
    if manifest.get("name") != spec.name:
        return f"manifest names {manifest.get('name')!r}"
    for rel in spec.files:
        entry = manifest["files"].get(rel)
        if entry is None:
            return f"{rel} missing from the manifest (installed by an older spec: pull again)"
        try:
            size = (path / rel).stat().st_size
        except OSError:
            return f"{rel} missing"
        if size != entry.get("size"):
            return f"{rel} has {size} bytes, manifest says {entry.get('size')}"
    return None


def model_files(name: str, settings: Settings | None = None) -> Path:
    """The installed directory of ``name``; raises ModelNotInstalledError (with a pull hint) otherwise."""
    spec = get_spec(name)
    path = model_path(name, settings)
    problem = _problem(spec, path)
    if problem is not None:
        hint = pull_hint(name) if problem == "not installed" else f"{problem}; {pull_hint(name)}"
        raise ModelNotInstalledError(name, hint)
    return path


def installed(name: str, settings: Settings | None = None) -> bool:
    try:
        model_files(name, settings)
    except ModelNotInstalledError:
        return False
    return True


@contextlib.contextmanager
def _locked(root: Path, name: str) -> Iterator[None]:
    """Serialise pulls/removals of one model across processes (two workers pulling at once)."""
    locks = root / ".locks"
    locks.mkdir(parents=True, exist_ok=True)
    if fcntl is None:  # pragma: no cover
        yield
        return
    with open(locks / f"{name}.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _clean_stale(root: Path, name: str) -> None:
    """Remove leftovers of pulls killed hard (SIGKILL, power loss); safe because we hold the lock."""
    for leftover in root.glob(f"{name}.partial-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    for leftover in root.glob(f"{name}.old-*"):
        shutil.rmtree(leftover, ignore_errors=True)


def _write_manifest(spec: ModelSpec, stage: Path, source: Any, origin: dict[str, Any]) -> None:
    files = {}
    for rel in spec.files:
        p = stage / rel
        files[rel] = {"sha256": sha256_file(p), "size": p.stat().st_size}
    manifest = {
        "format": MANIFEST_FORMAT,
        "name": spec.name,
        "task": spec.task,
        "runtime": spec.runtime,
        "source": source.describe(),
        "version": source.version,
        "origin": origin,
        "files": files,
        "installed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "installed_by": f"medialens {__version__}",
    }
    tmp = stage / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, stage / MANIFEST)


def _swap_in(stage: Path, target: Path) -> None:
    """Put ``stage`` at ``target``; an existing install is moved aside first and deleted after."""
    old = None
    if target.exists():
        old = target.with_name(f"{target.name}.old-{os.urandom(4).hex()}")
        os.replace(target, old)
    os.replace(stage, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _fetch_spec(spec: ModelSpec, stage: Path, ctx: FetchContext) -> tuple[Any, dict[str, Any]]:
    errors = []
    for source in spec.sources:
        try:
            origin = source.fetch(stage, ctx)
            missing = [rel for rel in spec.fetched_files if not (stage / rel).is_file()]
            if missing:
                raise SourceError(f"{source.describe()} did not provide {', '.join(missing)}")
            return source, origin
        except SourceError as err:
            errors.append(err)
            for child in stage.iterdir():  # next source starts from an empty stage
                shutil.rmtree(child) if child.is_dir() else child.unlink()
    if len(errors) == 1:
        raise errors[0]
    raise SourceError(f"{spec.name}: every source failed: " + "; ".join(str(e) for e in errors))


def _convert(spec: ModelSpec, stage: Path) -> None:
    """Run the spec's pull-time conversion in the stage; drop the raw inputs once the final files exist."""
    assert spec.convert is not None
    try:
        spec.convert(stage)
    except ModelError:
        raise
    except Exception as err:
        raise ModelError(f"{spec.name}: conversion failed: {type(err).__name__}: {err}") from err
    missing = [rel for rel in spec.files if not (stage / rel).is_file()]
    if missing:
        raise ModelError(f"{spec.name}: conversion did not produce {', '.join(missing)}")
    for rel in spec.raw_files:
        if rel not in spec.files:
            (stage / rel).unlink(missing_ok=True)


def _pull(spec: ModelSpec, settings: Settings, ctx: FetchContext, force: bool) -> Path:
    root = settings.resolved_model_dir
    target = model_path(spec.name, settings)
    with _locked(root, spec.name):
        _clean_stale(root, spec.name)
        if not force and _problem(spec, target) is None:
            return target
        stage = Path(tempfile.mkdtemp(prefix=f"{spec.name}.partial-", dir=root))
        try:
            os.chmod(stage, DIR_MODE)
            source, origin = _fetch_spec(spec, stage, ctx)
            if spec.convert is not None:
                _convert(spec, stage)
            _write_manifest(spec, stage, source, origin)
            _swap_in(stage, target)
        finally:
            if stage.exists():
                shutil.rmtree(stage, ignore_errors=True)
    return target


@contextlib.contextmanager
def _session(
    settings: Settings,
    progress: Progress | None,
    client: httpx.Client | None,
    on_download: DownloadStart | None = None,
) -> Iterator[FetchContext]:
    """One HTTP client and one archive cache for a run of pulls; the cache is deleted at the end."""
    root = settings.resolved_model_dir
    root.mkdir(parents=True, exist_ok=True)
    cache = Path(tempfile.mkdtemp(prefix=".archives-", dir=root))
    own = client is None
    http = client or new_client()
    try:
        yield FetchContext(
            settings=settings, client=http, progress=progress, archive_cache=cache, on_download=on_download
        )
    finally:
        shutil.rmtree(cache, ignore_errors=True)
        if own:
            http.close()


def pull(
    name: str,
    progress: Progress | None = None,
    settings: Settings | None = None,
    *,
    force: bool = False,
    client: httpx.Client | None = None,
) -> Path:
    """Install ``name`` (a no-op when already installed, unless ``force``); returns the model directory."""
    spec = get_spec(name)
    s = _settings(settings)
    with _session(s, progress, client) as ctx:
        return _pull(spec, s, ctx, force)


def pull_many(
    names: Iterable[str],
    progress: Progress | None = None,
    settings: Settings | None = None,
    *,
    force: bool = False,
    on_start: Any = None,
    on_download: DownloadStart | None = None,
    on_done: Callable[[str, Path | ModelError], None] | None = None,
) -> dict[str, Path | ModelError]:
    """Pull several models sharing downloads (mediapipe specs fetch the wheel once); errors are collected.

    ``on_start(name)``, ``on_download(url)`` and ``on_done(name, result)`` let a display follow a long pull.
    """
    s = _settings(settings)
    results: dict[str, Path | ModelError] = {}
    with _session(s, progress, None, on_download) as ctx:
        for name in names:
            if on_start is not None:
                on_start(name)
            try:
                results[name] = _pull(get_spec(name), s, ctx, force)
            except ModelError as err:
                results[name] = err
            if on_done is not None:
                on_done(name, results[name])
    return results


def verify(name: str, settings: Settings | None = None) -> list[str]:
    """Rehash every file against the manifest; an empty list means the install is intact."""
    spec = get_spec(name)
    path = model_path(name, settings)
    problem = _problem(spec, path)
    if problem == "not installed":
        return [f"not installed: {pull_hint(name)}"]
    if problem is not None and problem.startswith("unreadable manifest"):
        return [problem]
    problems = [problem] if problem else []
    for rel, entry in read_manifest(path)["files"].items():
        p = path / rel
        if not p.is_file():
            if f"{rel} missing" not in problems:
                problems.append(f"{rel} missing")
            continue
        actual = sha256_file(p)
        if actual != entry.get("sha256"):
            problems.append(f"{rel}: sha256 {actual} does not match the manifest's {entry.get('sha256')}")
    return problems


def remove(name: str, settings: Settings | None = None) -> bool:
    """Delete an installed model; False when there was nothing to delete."""
    s = _settings(settings)
    target = model_path(name, s)
    root = s.resolved_model_dir
    if not target.exists():
        return False
    with _locked(root, name):
        if not target.exists():
            return False
        trash = target.with_name(f"{name}.old-{os.urandom(4).hex()}")
        os.replace(target, trash)  # atomic: readers see the model or nothing
        shutil.rmtree(trash, ignore_errors=True)
    return True


def _dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def status(spec: ModelSpec, settings: Settings | None = None) -> ModelStatus:
    path = model_path(spec.name, settings)
    problem = _problem(spec, path)
    source, version = spec.sources[0].describe(), spec.sources[0].version
    if problem is None:
        manifest = read_manifest(path)
        source, version = manifest.get("source", source), manifest.get("version", version)
    ok = problem is None
    return ModelStatus(
        name=spec.name,
        task=spec.task,
        runtime=spec.runtime,
        installed=ok,
        source=source,
        version=str(version),
        size_bytes=_dir_size(path) if path.is_dir() else 0,
        licence=spec.licence,
        bundle=spec.bundle,
        path=str(path) if ok else None,
        hint=None if ok else f"medialens models pull {spec.name}",
        problem=None if ok or problem == "not installed" else problem,
    )


def list_models(settings: Settings | None = None) -> list[ModelStatus]:
    from medialens.models.registry import all_specs

    return [status(spec, settings) for spec in all_specs()]
