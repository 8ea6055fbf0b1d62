"""A local MLflow store read straight from its SQLite file, for `status` and the report
(`registry_status.py` chooses between this and MLflow's client).

Importing MLflow and opening its SQLAlchemy store costs ~2 s, most of what `status` took; the
few queries below take milliseconds. They only read (a `mode=ro` connection) the tables behind
`registry.read_registry`; a store they do not fit (a later MLflow renamed something) and a
tracking server are read by MLflow's own client instead. An end-to-end test holds the two
answers equal on a real registry.
"""

from __future__ import annotations

import math
import sqlite3
from contextlib import closing
from typing import Any

from ..settings import Settings


def alias_entry(
    version: object, run_id: str | None, tags: dict[str, str], metrics: dict[str, float]
) -> dict[str, Any]:
    """What `status` says of one alias's version."""
    return {
        "version": str(version),
        "run_id": run_id,
        "data_version": tags.get("data_version"),
        "gate": tags.get("gate"),
        # What decided, in the data's words (why a challenger with a better metric was kept out).
        "gate_decision": tags.get("gate_decision"),
        "metrics": {
            name: value for name, value in metrics.items() if not name.startswith("champion_")
        },
    }


def read_local(settings: Settings) -> dict[str, Any]:
    name = settings.registered_model_name
    database = f"file:{settings.local_tracking_db}?mode=ro"
    with closing(sqlite3.connect(database, uri=True)) as db:
        if db.execute("SELECT 1 FROM registered_models WHERE name = ?", (name,)).fetchone() is None:
            return {}
        (versions,) = db.execute(
            # MLflow keeps a deleted version's row, marked with this stage.
            "SELECT count(*) FROM model_versions WHERE name = ? "
            "AND coalesce(current_stage, '') != 'Deleted_Internal'",
            (name,),
        ).fetchone()
        found: dict[str, Any] = {"versions": versions}
        aliases = db.execute(
            "SELECT alias, version FROM registered_model_aliases WHERE name = ? ORDER BY alias",
            (name,),
        ).fetchall()
        for alias, version in aliases:
            (run_id,) = db.execute(
                "SELECT run_id FROM model_versions WHERE name = ? AND version = ?",
                (name, version),
            ).fetchone()
            tags = dict(
                db.execute(
                    "SELECT key, value FROM model_version_tags WHERE name = ? AND version = ?",
                    (name, version),
                ).fetchall()
            )
            metrics = {
                key: math.nan if is_nan else value
                for key, value, is_nan in db.execute(
                    "SELECT key, value, is_nan FROM latest_metrics WHERE run_uuid = ?", (run_id,)
                )
            }
            found[alias] = alias_entry(version, run_id, tags, metrics)
    return found
