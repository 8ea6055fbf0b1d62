"""Training data: every validated batch, one data version for the lot, and a time-based split."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..contract import DataContract
from ..errors import ExpectedError, reading_store


class NoTrainingDataError(ExpectedError):
    """There is nothing validated to train on yet."""


@dataclass(frozen=True)
class TrainingData:
    frame: pd.DataFrame
    batches: list[str]
    data_version: str


@dataclass(frozen=True)
class Split:
    train: pd.DataFrame
    holdout: pd.DataFrame
    method: str


def data_version(batch_files: list[Path]) -> str:
    """One hash for a set of batches. Each file name ends in its content hash, so the version
    changes exactly when the set of validated contents does."""
    hashes = sorted(path.stem.rsplit("-", 1)[-1] for path in batch_files)
    return hashlib.sha256("\n".join(hashes).encode()).hexdigest()[:16]


def load_validated(validated_dir: Path, contract: DataContract) -> TrainingData:
    """All validated batches, in one frame with the contract's columns."""
    files = sorted(validated_dir.glob("*.parquet"))
    if not files:
        raise NoTrainingDataError(
            f"no validated batches in {validated_dir}: ingest data first (the `ingest` command)"
        )
    columns = contract.column_names
    frame = pd.concat((read_stored(path, columns) for path in files), ignore_index=True)
    return TrainingData(
        frame=frame, batches=[path.stem for path in files], data_version=data_version(files)
    )


def read_stored(path: Path, columns: list[str]) -> pd.DataFrame:
    with reading_store(path, "the validated batch"):
        return pd.read_parquet(path, columns=columns)


def split_by_time(
    frame: pd.DataFrame, contract: DataContract, holdout_fraction: float, seed: int
) -> Split:
    """Hold out the latest `holdout_fraction` of rows by event time: the model is judged on
    data from after what it learned from, as it will be in production. Without a timestamp
    column, a seeded random split stratified by the target."""
    target = contract.target.name
    timestamp = contract.timestamp_column
    if timestamp is None:
        holdout = frame.groupby(target, group_keys=False).sample(
            frac=holdout_fraction, random_state=seed
        )
        train = frame.drop(holdout.index)
        method = f"random, stratified by {target}, seed {seed}"
    else:
        cutoff = frame[timestamp].quantile(1 - holdout_fraction)
        is_holdout = frame[timestamp] >= cutoff
        train, holdout = frame[~is_holdout], frame[is_holdout]
        method = f"time: holdout is {timestamp} >= {cutoff}"
    for part, name in ((train, "training"), (holdout, "holdout")):
        if part[target].nunique() < 2:
            raise NoTrainingDataError(
                f"the {name} set has {len(part)} rows and a single {target} class: "
                "ingest more data before training"
            )
    return Split(
        train=train.reset_index(drop=True), holdout=holdout.reset_index(drop=True), method=method
    )
