"""Batch scoring: score a CSV or Parquet file with the champion, write the scores with the
model version. The Prefect flow is in `flow.py`."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..contract import DataContract
from ..data.batches import BatchReadError, content_hash, read_batch, store_once
from ..settings import ScoringPath
from ..training import registry
from .scorer import NoChampionError, load_scoring_model


def read_features(source: Path, contract: DataContract) -> pd.DataFrame:
    """The batch to score; the target may be absent, every feature must be there."""
    return require_features(read_batch(source, contract), contract, source)


def require_features(frame: pd.DataFrame, contract: DataContract, source: Path) -> pd.DataFrame:
    missing = [column.name for column in contract.features if column.name not in frame.columns]
    if missing:
        raise BatchReadError(f"{source}: missing feature column(s) {', '.join(missing)}")
    return frame


def score_frame(
    frame: pd.DataFrame,
    version: registry.ModelVersion,
    contract: DataContract,
    scoring_path: ScoringPath = "compiled",
) -> pd.DataFrame:
    """`frame` with two more columns: `score` and the `model_version` that produced it."""
    scored = frame.copy()
    scored["score"] = load_scoring_model(version, contract, scoring_path).score_frame(frame)
    scored["model_version"] = version.version
    return scored


def champion(name: str) -> registry.ModelVersion:
    found = registry.version_by_alias(name, registry.CHAMPION)
    if found is None:
        raise NoChampionError("no champion model in the registry yet: train one (`train`)")
    return found


def write_scores(scored: pd.DataFrame, folder: Path, source: Path) -> Path:
    """Immutable output named after the input and the content, stored once like batches."""
    data_hash = content_hash(scored)
    stored, _ = store_once(scored, folder, f"{source.stem}-{data_hash}", data_hash)
    return stored
