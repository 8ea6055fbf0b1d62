"""The validated store as one data set: every batch stored under the current contract, in one
frame, with one data version for the lot. Training, the offline feature store and monitoring's
reference all read it here."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from ..contract import DataContract
from ..errors import ExpectedError, reading_store

logger = logging.getLogger(__name__)


class NoTrainingDataError(ExpectedError):
    """There is nothing validated to train on yet."""


@dataclass(frozen=True)
class TrainingData:
    frame: pd.DataFrame
    batches: list[str]  # in the order they were ingested (names start with the time)
    data_version: str
    batch_rows: list[int] | None = None  # rows of each batch, in `frame` order


def data_version(batch_files: list[Path]) -> str:
    """One hash for a set of batches. Each file name ends in its content hash, so the version
    changes exactly when the set of validated contents does."""
    hashes = sorted(path.stem.rsplit("-", 1)[-1] for path in batch_files)
    return hashlib.sha256("\n".join(hashes).encode()).hexdigest()[:16]


def load_validated(validated_dir: Path, contract: DataContract) -> TrainingData:
    """All validated batches, in one frame with the contract's columns."""
    stored = sorted(validated_dir.glob("*.parquet"))
    columns = contract.column_names
    # Batches validated under another contract (the worked example, before you swapped in your
    # own) have other columns: they stay stored, and out of this training set.
    files = [path for path in stored if stored_columns(path) == set(columns)]
    if not files:
        other = f" ({len(stored)} have another contract's columns)" if stored else ""
        raise NoTrainingDataError(
            f"no validated batches of contract {contract.name} in {validated_dir}{other}: "
            "ingest data first (the `ingest` command)"
        )
    if len(files) < len(stored):
        logger.warning(
            "left out %d validated batches of another contract", len(stored) - len(files)
        )
    parts = [read_stored(path, columns) for path in files]
    return TrainingData(
        frame=pd.concat(parts, ignore_index=True),
        batches=[path.stem for path in files],
        data_version=data_version(files),
        batch_rows=[len(part) for part in parts],
    )


def stored_columns(path: Path) -> set[str]:
    with reading_store(path, "the validated batch"):
        return set(pq.read_schema(path).names)


def read_stored(path: Path, columns: list[str]) -> pd.DataFrame:
    with reading_store(path, "the validated batch"):
        return pd.read_parquet(path, columns=columns)
