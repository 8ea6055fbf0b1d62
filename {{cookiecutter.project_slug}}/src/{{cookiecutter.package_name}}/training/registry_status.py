"""The registry as `status` and the system report show it: a local store read from its SQLite
file without MLflow (`registry_view.py`, milliseconds), anything else by MLflow's client
(`registry.read_registry`, ~2 s of imports)."""

from __future__ import annotations

import sqlite3
from typing import Any

from ..settings import Settings
from .registry_view import read_local


def registry_status(settings: Settings) -> dict[str, Any]:
    """The registered model and its aliases with their metrics. Reads only: a project that has
    never trained gets no database created by asking."""
    summary: dict[str, Any] = {
        "tracking_uri": settings.tracking_uri,
        "registered_model": settings.registered_model_name,
        "versions": 0,
    }
    if settings.tracks_locally:
        if not settings.local_tracking_db.is_file():
            return summary
        try:
            return summary | read_local(settings)
        except sqlite3.Error:
            pass  # not the schema these queries know: MLflow's client reads any
    from .registry import read_registry  # imports MLflow

    return summary | read_registry(settings)
