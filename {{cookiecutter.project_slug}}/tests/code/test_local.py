"""The local servers' helpers: the migrated Prefect database a new project's server starts
from is a consistent copy, written in one step, and never a reason to fail."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from {{ cookiecutter.package_name }}.serving.local import keep_seed, prefect_seed


def test_the_seed_is_a_consistent_copy_put_in_place_whole(tmp_path: Path) -> None:
    database = tmp_path / "prefect.db"
    with closing(sqlite3.connect(database)) as db:
        db.execute("PRAGMA journal_mode=WAL")  # as Prefect's: committed rows may sit in the WAL
        db.execute("CREATE TABLE alembic_version (version_num TEXT)")
        db.execute("INSERT INTO alembic_version VALUES ('head')")
        db.commit()
        seed = tmp_path / "share" / "prefect-9.9.db"
        keep_seed(database, seed)
    with closing(sqlite3.connect(seed)) as copy:
        assert copy.execute("SELECT version_num FROM alembic_version").fetchall() == [("head",)]
    assert [path.name for path in seed.parent.iterdir()] == [seed.name]  # no partial left


def test_a_seed_that_cannot_be_written_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "prefect.db").write_bytes(b"not a database")
    keep_seed(tmp_path / "prefect.db", tmp_path / "seed.db")
    assert list(tmp_path.glob("seed.db*")) == []  # no seed, and no partial one
    assert prefect_seed().name.startswith("prefect-") and prefect_seed().suffix == ".db"
