"""The migrated stores new projects start from: a seed is a consistent copy put in place whole,
never a reason to fail, and a project started from one is its own (MLflow's Default experiment
keeps its artifacts in this project, not where the seed was made)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.seeds import keep_seed, plant_seed, seed_path
from {{ cookiecutter.package_name }}.settings import Settings
from {{ cookiecutter.package_name }}.training import registry


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
    path = seed_path("prefect")
    assert path.name.startswith("prefect-") and path.suffix == ".db"


def test_a_seed_is_planted_only_where_there_is_no_store(tmp_path: Path) -> None:
    seed, store = tmp_path / "seed.db", tmp_path / "project" / "store.db"
    assert not plant_seed(store, seed)  # no seed yet
    seed.write_bytes(b"seed")
    store.parent.mkdir()
    assert plant_seed(store, seed) and store.read_bytes() == b"seed"
    store.write_bytes(b"the project's own")
    assert not plant_seed(store, seed) and store.read_bytes() == b"the project's own"
    assert sorted(path.name for path in store.parent.iterdir()) == ["store.db"]


@pytest.mark.parametrize("seeded", [False, True])
def test_a_new_local_mlflow_store_is_the_projects_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seeded: bool
) -> None:
    seed = tmp_path / "share" / "mlflow.db"
    monkeypatch.setattr(registry, "seed_path", lambda tool: seed)
    if seeded:  # made by another project
        other = Settings(project_dir=tmp_path / "other")
        other.project_dir.mkdir()
        registry.connect(other)
        assert seed.is_file()
    project = Settings(project_dir=tmp_path / "project")
    project.project_dir.mkdir()
    registry.configure_tracking(project)
    assert seed.is_file()  # the first new store became the seed
    with closing(sqlite3.connect(project.local_tracking_db)) as db:
        locations = dict(db.execute("SELECT name, artifact_location FROM experiments"))
    assert locations["Default"] == (project.mlflow_artifacts_dir / "0").as_uri(), locations
    assert locations[project.experiment_name] == project.mlflow_artifacts_dir.as_uri()
