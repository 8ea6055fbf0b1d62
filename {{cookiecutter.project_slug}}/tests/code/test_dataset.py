"""Training data: all validated batches, one data version, a split that respects time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.contract import DataContract
from {{ cookiecutter.package_name }}.contract.target import STRATIFY_HOLDOUT
from {{ cookiecutter.package_name }}.data.batches import batch_id, content_hash, write_parquet_once
from {{ cookiecutter.package_name }}.data.synthetic import generate_batch
from {{ cookiecutter.package_name }}.data.validated import (
    NoTrainingDataError,
    data_version,
    load_validated,
)
from {{ cookiecutter.package_name }}.training.dataset import split_by_time


def store(frame: pd.DataFrame, folder: Path) -> Path:
    return write_parquet_once(frame, folder / f"{batch_id(content_hash(frame))}.parquet")


def test_no_validated_batches_is_a_clear_error(tmp_path: Path, contract: DataContract) -> None:
    with pytest.raises(NoTrainingDataError, match="ingest data first"):
        load_validated(tmp_path / "validated", contract)


def test_all_batches_are_loaded_under_one_data_version(
    tmp_path: Path, contract: DataContract
) -> None:
    first = store(generate_batch(500, seed=1), tmp_path)
    data = load_validated(tmp_path, contract)
    assert len(data.frame) == 500
    second = store(generate_batch(300, seed=2), tmp_path)
    both = load_validated(tmp_path, contract)
    assert len(both.frame) == 800
    assert list(both.frame.columns) == contract.column_names
    assert both.batches == sorted([first.stem, second.stem])
    assert both.data_version != data.data_version
    # The version depends on the contents only, not on when the batches arrived.
    renamed = [Path(f"20990101T000000Z-{p.stem.split('-')[1]}.parquet") for p in (second, first)]
    assert data_version(renamed) == both.data_version


def test_time_split_holds_out_the_latest_rows(contract: DataContract) -> None:
    frame = generate_batch(5_000, seed=3)
    split = split_by_time(frame, contract, holdout_fraction=0.2, seed=0)
    timestamp = contract.timestamp_column
    assert timestamp is not None
    assert split.train[timestamp].max() < split.holdout[timestamp].min()
    assert len(split.train) + len(split.holdout) == 5_000
    # Whole groups (a ranking's queries) may move the cut by up to one group.
    assert len(split.holdout) == pytest.approx(1_000, abs=5 if not contract.group_column else 25)


def test_without_a_timestamp_the_split_is_seeded_and_stratified_by_a_class_target(
    contract: DataContract,
) -> None:
    columns = [c for c in contract.columns if c.role != "timestamp"]
    untimed = contract.model_copy(update={"columns": columns})
    frame = generate_batch(5_000, seed=3).drop(columns=contract.timestamp_column)
    split = split_by_time(frame, untimed, holdout_fraction=0.2, seed=0)
    again = split_by_time(frame, untimed, holdout_fraction=0.2, seed=0)
    pd.testing.assert_frame_equal(split.holdout, again.holdout)
    target = contract.target.name
    if STRATIFY_HOLDOUT:
        # Every class keeps its share (within a row or two of rounding).
        held = split.holdout[target].astype(str).value_counts(normalize=True).sort_index()
        shares = frame[target].astype(str).value_counts(normalize=True).sort_index()
        assert held.index.equals(shares.index)
        assert np.allclose(held.to_numpy(), shares.to_numpy(), atol=0.005), (held, shares)
        assert f"stratified by {target}" in split.method
    else:
        assert "stratified" not in split.method


def test_a_holdout_with_a_single_target_value_is_refused(contract: DataContract) -> None:
    frame = generate_batch(2_000, seed=3)
    frame[contract.target.name] = 0
    with pytest.raises(NoTrainingDataError, match=f"single value of {contract.target.name}"):
        split_by_time(frame, contract, holdout_fraction=0.2, seed=0)
