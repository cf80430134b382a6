"""A worker's in-memory fingerprint library (tasks/dna_library.py): loaded once per account, then only what changed
in the store is read; deletions and additions by other processes (made here straight in the store, as the API
process's DNA delete does) are seen at the next query."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
import sqlalchemy as sa

from medialens.analyses import fingerprint as fp
from medialens.config import Settings
from medialens.core import keys
from medialens.store import vod as vod_store
from medialens.store.db import Database
from medialens.store.migrate import downgrade, upgrade
from medialens.store.vod_tables import Fingerprint as FingerprintRow
from medialens.tasks import dna_library


def _random_print(seed: int, frames: int = 30) -> fp.Fingerprint:
    v = np.random.default_rng(seed).standard_normal((frames, len(fp.VIEWS), fp.DIM)).astype(np.float32)
    return fp.Fingerprint(fp.SAMPLE_FPS, (v / np.linalg.norm(v, axis=-1, keepdims=True)).astype(np.float16))


def _excerpt(fpr: fp.Fingerprint) -> fp.Fingerprint:
    return fp.Fingerprint(fpr.fps, fpr.vectors[5:25])


@pytest.fixture
def account(db: Database, tmp_path) -> str:
    return keys.create_key(db, Settings(data_dir=tmp_path)).account


def test_library_follows_the_store(db: Database, account: str, monkeypatch: pytest.MonkeyPatch) -> None:
    prints = {f"m{i}": _random_print(i) for i in range(3)}
    for media_id, fpr in prints.items():
        dna_library.put(db, account, media_id, fpr)
    reads: list[list[str]] = []
    real = vod_store.fingerprints

    def counted(*args, **kwargs):
        reads.append(sorted(kwargs.get("media_ids") or []))
        return real(*args, **kwargs)

    monkeypatch.setattr(vod_store, "fingerprints", counted)

    assert [k for k, _ in dna_library.matches(db, account, _excerpt(prints["m1"]), exclude="new")] == ["m1"]
    assert reads == [["m0", "m1", "m2"]] and dna_library.loaded(db, account) == 3
    assert [k for k, _ in dna_library.matches(db, account, _excerpt(prints["m2"]), exclude="new")] == ["m2"]
    assert reads == [["m0", "m1", "m2"]]  # nothing changed: nothing read again

    vod_store.delete_fingerprint(db, account, "m1")  # another process deletes a DNA
    assert dna_library.matches(db, account, _excerpt(prints["m1"]), exclude="new") == []
    assert dna_library.loaded(db, account) == 2

    replaced = _random_print(7)
    dna_library.put(db, account, "m2", replaced)  # re-fingerprinted: only that one is read again
    row = FingerprintRow(
        app_id=account,
        media_id="m3",
        fps=fp.SAMPLE_FPS,
        dim=fp.DIM,
        views=len(fp.VIEWS),
        method=fp.METHOD,
        vectors=prints["m1"].to_bytes(),
    )
    vod_store.put_fingerprint(db, row)  # another worker adds one
    assert [k for k, _ in dna_library.matches(db, account, _excerpt(prints["m1"]), exclude="new")] == ["m3"]
    assert reads[-1] == ["m2", "m3"]
    assert [k for k, _ in dna_library.matches(db, account, _excerpt(replaced), exclude="new")] == ["m2"]
    assert dna_library.matches(db, account, _excerpt(replaced), exclude="m2") == []  # the medium itself


def test_libraries_are_per_account(db: Database, account: str, tmp_path) -> None:
    other = keys.create_key(db, Settings(data_dir=tmp_path)).account
    fpr = _random_print(11)
    dna_library.put(db, account, "a", fpr)
    assert dna_library.matches(db, other, _excerpt(fpr), exclude="x") == []
    assert [k for k, _ in dna_library.matches(db, account, _excerpt(fpr), exclude="x")] == ["a"]


def test_six_view_rows_of_before_migration_0006_are_read_with_the_views_used_now() -> None:
    """The six-view layout (full, mirrored, 90 % crop and its mirror, 80 % crop and its mirror) reads as the three
    views used now; another count is refused."""
    fpr = _random_print(21)
    legacy = np.zeros((fpr.frames, len(fp.LEGACY_VIEWS), fp.DIM), np.float16)
    legacy[:, list(fp.LEGACY_VIEWS_KEPT), :] = fpr.vectors
    read = fp.Fingerprint.from_bytes(legacy.tobytes(), fp.SAMPLE_FPS, views=len(fp.LEGACY_VIEWS))
    assert np.array_equal(read.vectors, fpr.vectors)
    with pytest.raises(ValueError, match="4 views"):
        fp.Fingerprint.from_bytes(np.zeros((2, 4, fp.DIM), np.float16).tobytes(), 2.0, views=4)


def test_fingerprints_of_an_earlier_recipe_are_left_out_until_made_again(db: Database, account: str) -> None:
    """A row stored without ``method`` (before migration 0010: the float network's recipe) lives in another
    descriptor space: matching leaves it out and counts it as stale, until the medium is fingerprinted again."""
    fpr = _random_print(23)
    row = FingerprintRow(app_id=account, media_id="old", fps=fp.SAMPLE_FPS, dim=fp.DIM, views=3, vectors=fpr.to_bytes())
    vod_store.put_fingerprint(db, row)
    assert dna_library.matches(db, account, _excerpt(fpr), exclude="x") == []
    assert dna_library.stale(db, account) == 1
    dna_library.put(db, account, "old", fpr)  # its DNA job runs again
    assert [k for k, _ in dna_library.matches(db, account, _excerpt(fpr), exclude="x")] == ["old"]
    assert dna_library.stale(db, account) == 0


FLOAT_RECIPE = "mobilenetv2-rmac-pca128-2fps-3views"  # what fingerprints were made with before migration 0010


@pytest.mark.parametrize(
    ("before", "revision", "column", "given"),
    [
        ("0005_twelvelabs", "0006_fingerprint_views", "views", 6),  # the six-view layout they were written in
        ("0009_hubfix_queue_claims", "0010_fingerprint_method", "method", FLOAT_RECIPE),  # the float network's
    ],
)
def test_migrations_describe_the_fingerprints_stored_before_them(
    blank_db: Database, tmp_path, before: str, revision: str, column: str, given: object
) -> None:
    """A row stored before ``revision`` gets the value that describes how it was made; up, down and up again."""
    upgrade(blank_db.engine, before)
    account = keys.create_key(blank_db, Settings(data_dir=tmp_path)).account
    with blank_db.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO fingerprints (app_id, media_id, fps, dim, vectors, created_at)"
                " VALUES (:a, 'm', 2, 128, :v, :t)"
            ),
            {"a": account, "v": b"\0" * 12, "t": datetime.now(UTC)},
        )
    upgrade(blank_db.engine, revision)
    with blank_db.engine.connect() as conn:
        assert conn.execute(sa.text(f"SELECT {column} FROM fingerprints")).scalar_one() == given
    downgrade(blank_db.engine, before)
    upgrade(blank_db.engine)
    assert column in {c["name"] for c in sa.inspect(blank_db.engine).get_columns("fingerprints")}


def test_the_recipe_of_earlier_fingerprints_is_not_this_versions() -> None:
    assert fp.METHOD != FLOAT_RECIPE
