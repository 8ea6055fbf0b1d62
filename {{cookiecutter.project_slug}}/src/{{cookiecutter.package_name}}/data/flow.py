"""The ingestion and feature-store flows: Prefect wiring over the functions in `ingestion`,
`validation` and `feature_store`."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from ..contract import DataContract, load_contract
from ..settings import DriftKind, Settings, get_settings
from ..stopwatch import Stopwatch
from . import feature_store, folder, ingestion, validation
from .batches import BatchReadError
from .validated import load_validated


# NO_CACHE: Prefect would otherwise hash every DataFrame argument to build a cache key.
@task(name="load-batch", cache_policy=NO_CACHE)
def load_batch(
    contract: DataContract,
    source: Path | None,
    rows: int,
    seed: int,
    drift: DriftKind,
    start: datetime | None,
) -> tuple[pd.DataFrame, str]:
    return ingestion.load_batch(contract, source, rows, seed, drift, start)


@task(name="validate-batch", cache_policy=NO_CACHE)
def validate_batch(
    frame: pd.DataFrame, contract: DataContract, settings: Settings
) -> validation.ValidationReport:
    return validation.validate_batch(frame, contract, settings.gx_dir, settings.data_docs_dir)


@task(name="store-or-quarantine", cache_policy=NO_CACHE)
def record_outcome(
    frame: pd.DataFrame, report: validation.ValidationReport, source: str, settings: Settings
) -> ingestion.IngestionRecord:
    return ingestion.record_outcome(frame, report, source, settings)


check_files = task(name="check-files", cache_policy=NO_CACHE)(folder.check_files)
record_all = task(name="publish-and-log", cache_policy=NO_CACHE)(folder.record_all)


@flow(
    name="ingestion",
    persist_result=True,  # read back by `deployments.run_deployed`
)
def ingestion_flow(
    source: Path | None = None,
    rows: int | None = None,
    seed: int | None = None,
    drift: DriftKind | None = None,
    start: datetime | None = None,
) -> ingestion.IngestionRecord:
    """Ingest one batch; arguments left out come from settings. Fails on a contract breach."""
    settings = get_settings()
    contract = load_contract(settings.contract_file)
    timed = Stopwatch("ingestion")
    source = source if source is not None else settings.source_path
    try:
        frame, origin = timed(
            "load_batch",
            load_batch,
            contract,
            source,
            rows if rows is not None else settings.batch_rows,
            seed if seed is not None else settings.seed,
            drift if drift is not None else settings.drift,
            start,
        )
    except BatchReadError as error:
        if source is not None:
            ingestion.record_unreadable(source, error, settings)
        raise
    report = timed("validate", validate_batch, frame, contract, settings)
    record = timed("store", record_outcome, frame, report, origin, settings)
    return replace(record, seconds=timed.seconds)


@flow(
    name="folder-ingestion",
    persist_result=True,
)
def folder_ingestion_flow(source: Path) -> list[ingestion.IngestionRecord]:
    """Ingest every CSV or Parquet file of the folder `source` as one batch, on a Dask cluster
    when `MLSD_DASK_ADDRESS` is set. Good batches are stored even when others are refused;
    the flow fails after all are logged if any was quarantined or unreadable."""
    settings = get_settings()
    contract = load_contract(settings.contract_file)
    try:
        files = folder.batch_files(source)
    except folder.NoBatchesError as error:
        ingestion.record_unreadable(source, error, settings)
        raise
    checked = check_files(files, contract, settings)
    records: list[ingestion.IngestionRecord] = record_all(checked, contract, settings)
    if any(record.status in folder.REFUSED for record in records):
        raise folder.BatchesRefusedError(records)
    return records


@task(name="load-offline-store", cache_policy=NO_CACHE)
def load_offline(settings: Settings, contract: DataContract) -> feature_store.OfflineLoad:
    frame = load_validated(settings.validated_dir, contract).frame
    return feature_store.load_offline(frame, contract, settings)


@task(name="materialize-online-store", cache_policy=NO_CACHE)
def materialize(settings: Settings, contract: DataContract, through: datetime) -> None:
    feature_store.materialize(feature_store.open_store(settings), contract, settings, through)


@flow(name="features", persist_result=True)
def features_flow() -> feature_store.FeaturesOutcome:
    """Load every validated batch's entity features into the offline store, then materialize
    each key's latest values into the online store the service reads."""
    settings = get_settings()
    contract = load_contract(settings.contract_file)
    loaded = load_offline(settings, contract)
    materialize(settings, contract, loaded.through)
    fresh = feature_store.freshness(contract, settings)
    outcome = feature_store.FeaturesOutcome(loaded.rows, fresh)
    get_run_logger().info(outcome.summary())
    return outcome
