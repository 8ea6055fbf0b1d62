"""Batch I/O: faithful reads, stable fingerprints, and stored batches that are never replaced."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.contract import DataContract
from {{ cookiecutter.package_name }}.data.batches import (
    BatchReadError,
    content_hash,
    read_batch,
    write_parquet_once,
)
from worked_example import FLOAT_FEATURE, TIMESTAMP


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_round_trip_keeps_values_and_types(
    tmp_path: Path, contract: DataContract, clean_batch: pd.DataFrame, suffix: str
) -> None:
    path = tmp_path / f"batch{suffix}"
    if suffix == ".csv":
        clean_batch.to_csv(path, index=False)
    else:
        clean_batch.to_parquet(path, index=False)
    loaded = read_batch(path, contract)
    pd.testing.assert_frame_equal(loaded, clean_batch, check_dtype=False)
    assert str(loaded[TIMESTAMP].dtype).startswith("datetime64")


def test_timezone_aware_timestamps_become_naive_utc(
    tmp_path: Path, contract: DataContract, clean_batch: pd.DataFrame
) -> None:
    aware = clean_batch.head(10).copy()
    aware[TIMESTAMP] = aware[TIMESTAMP].dt.tz_localize("UTC").dt.tz_convert("Europe/Paris")
    path = tmp_path / "aware.parquet"
    aware.to_parquet(path, index=False)
    loaded = read_batch(path, contract)
    assert (loaded[TIMESTAMP] == clean_batch.head(10)[TIMESTAMP]).all()


def test_unreadable_sources_are_clear_errors(tmp_path: Path, contract: DataContract) -> None:
    with pytest.raises(BatchReadError, match=r"unsupported file type '\.xlsx'"):
        read_batch(tmp_path / "batch.xlsx", contract)
    with pytest.raises(BatchReadError, match="no such file"):
        read_batch(tmp_path / "absent.csv", contract)
    broken = tmp_path / "broken.parquet"
    broken.write_text("not parquet")
    with pytest.raises(BatchReadError, match="cannot be read as a table"):
        read_batch(broken, contract)


def test_content_hash_tracks_values(clean_batch: pd.DataFrame) -> None:
    changed = clean_batch.assign(
        **{FLOAT_FEATURE: clean_batch[FLOAT_FEATURE].where(clean_batch.index > 0, 99.0)}
    )
    assert content_hash(clean_batch) == content_hash(clean_batch.copy())
    assert content_hash(clean_batch) != content_hash(changed)


def test_stored_batches_are_never_overwritten(tmp_path: Path, clean_batch: pd.DataFrame) -> None:
    target = write_parquet_once(clean_batch, tmp_path / "b.parquet")
    with pytest.raises(FileExistsError, match="never overwritten"):
        write_parquet_once(clean_batch.head(1), target)
    assert len(pd.read_parquet(target)) == len(clean_batch)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.parquet"]
