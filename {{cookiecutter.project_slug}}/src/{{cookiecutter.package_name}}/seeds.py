"""Migrated, empty databases that a new project's local stores start from.

A new SQLite store runs its tool's migrations when first opened: Prefect's ~100 (12.6 s to a
ready server instead of 4.8 s here), MLflow's ~60 (3 s of a first training). The first project
in an environment keeps a copy of its store just migrated (a seed); every later new store is a
copy of it. One seed per tool version, in the virtual environment that has that version, so a
seed is never opened by another version.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import sqlite3
import sys
from contextlib import closing
from pathlib import Path

from .settings import PACKAGE_DIR


def seed_path(tool: str) -> Path:
    """Where this environment keeps the seed of `tool`'s (a distribution name) store."""
    version = importlib.metadata.version(tool)
    return Path(sys.prefix) / "share" / PACKAGE_DIR.name / f"{tool}-{version}.db"


def plant_seed(database: Path, seed: Path) -> bool:
    """Start the new store `database` from `seed`; False when there is no seed yet."""
    if database.exists() or not seed.is_file():
        return False
    partial = database.with_name(f"{database.name}.{os.getpid()}.tmp")
    try:
        shutil.copyfile(seed, partial)
        partial.replace(database)  # whole or not at all: a reader never sees half a copy
    except OSError:
        partial.unlink(missing_ok=True)
        return False
    return True


def keep_seed(database: Path, seed: Path) -> None:
    """Save `database`, just migrated and holding nothing yet, as the seed: a consistent copy
    (SQLite's backup, whatever its tool writes meanwhile), put in place in one step. Best
    effort: a read-only environment only misses the speed-up."""
    partial = seed.with_name(f"{seed.name}.{os.getpid()}.tmp")
    try:
        seed.parent.mkdir(parents=True, exist_ok=True)
        with (
            closing(sqlite3.connect(database)) as source,
            closing(sqlite3.connect(partial)) as copy,
        ):
            source.backup(copy)
        partial.replace(seed)
    except (OSError, sqlite3.Error):
        partial.unlink(missing_ok=True)
