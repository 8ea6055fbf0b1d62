"""Checks a command makes before its expensive work: the documents it reads (settings, step 1's
requirements, step 2's contract) are valid, and the stores it will write to can be written.

A problem found here costs a second instead of a Prefect server start, a data load and a fit,
and it is reported as one `ExpectedError` naming the file or setting, with nothing changed.
"""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

from .errors import StoreError
from .settings import ENV_PREFIX, Settings, SettingsError


def documents(settings: Settings) -> None:
    """Step 1's requirements and step 2's contract load and are valid."""
    # Imported here: the contract brings pandas (~1 s), and the CLI imports this module for
    # every command, `--help` included.
    from .contract import load_contract
    from .requirements import load_requirements

    load_requirements(settings.requirements_file)
    load_contract(settings.contract_file)


def writable(directory: Path, what: str) -> None:
    """`directory` exists (created if needed) and a file can be created in it."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".write-check-"):
            pass
    except OSError as error:
        raise StoreError(f"cannot write {what} to {directory}: {error.strerror or error}") from None


def tracking_store(settings: Settings, write: bool) -> None:
    """The local MLflow database, if there is one, is a readable SQLite database (and a
    writable one, with its folder, when `write`). A server URI is the server's to check."""
    database = settings.local_tracking_db
    if not settings.tracks_locally or not database.exists():
        if write and settings.tracks_locally:
            writable(database.parent, "the MLflow database")
        return
    try:
        if write:  # SQLite quietly opens a write-protected file read-only: ask the OS
            database.open("r+b").close()
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
            connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except (OSError, sqlite3.Error) as error:
        raise StoreError(
            f"the MLflow database {database} cannot be {'written' if write else 'read'}: "
            f"{error}. Restore it from a backup, fix its permissions, or move it away to start "
            "a new registry."
        ) from None
    if write:
        writable(database.parent, "the MLflow database's journal")


def model_name(settings: Settings) -> None:
    """The configured candidate exists in step 4 (the lookup training itself makes)."""
    from .modeling import UnknownModelError, chosen_model, model_builder

    try:
        model_builder(chosen_model(settings))
    except UnknownModelError as error:
        raise SettingsError(
            f"bad settings:\n  - {ENV_PREFIX}MODEL_NAME={chosen_model(settings)!r}: {error}"
        ) from None


def for_ingestion(settings: Settings) -> None:
    documents(settings)
    writable(settings.data_dir, "the ingestion log")
    writable(settings.validated_dir, "validated batches")
    writable(settings.quarantine_dir, "quarantined batches")
    writable(settings.gx_dir, "the Great Expectations project")
    writable(settings.data_docs_dir, "Data Docs")


def feature_store(settings: Settings) -> None:
    """With the feature store on: Feast is installed, the contract gives it entity features,
    and its folder can be written."""
    if not settings.uses_feature_store:
        return
    from .contract import load_contract
    from .data.feature_store import require_feast, views

    require_feast()
    views(load_contract(settings.contract_file))
    writable(settings.feature_repo_dir, "the feature store")


def for_features(settings: Settings) -> None:
    documents(settings)
    if not settings.uses_feature_store:
        raise SettingsError(
            f"bad settings:\n  - {ENV_PREFIX}FEATURE_STORE={settings.feature_store!r}: the "
            "features flow needs the feature store on ('feast')"
        )
    feature_store(settings)


def for_training(settings: Settings) -> None:
    documents(settings)
    feature_store(settings)
    model_name(settings)
    tracking_store(settings, write=True)
    writable(settings.training_reports_dir, "training reports")
    if settings.tracks_locally:
        writable(settings.mlflow_artifacts_dir, "MLflow artifacts")


def for_scoring(settings: Settings) -> None:
    documents(settings)
    tracking_store(settings, write=False)
    writable(settings.scored_dir, "scored batches")


def for_monitoring(settings: Settings, retrain: bool) -> None:
    if retrain:
        for_training(settings)  # the documents too
    else:
        documents(settings)
        tracking_store(settings, write=False)
    writable(settings.data_dir, "the monitoring log")
    writable(settings.monitoring_reports_dir, "drift reports")


def for_labels(settings: Settings, retrain: bool) -> None:
    for_monitoring(settings, retrain)
    writable(settings.labels_dir, "the stored labels")
