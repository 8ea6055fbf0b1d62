"""Ingestion outcomes: every batch is kept exactly once, and a rejection says why."""

from __future__ import annotations

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.data.batches import read_jsonl
from {{ cookiecutter.package_name }}.data.ingestion import BatchRejectedError, record_outcome
from {{ cookiecutter.package_name }}.data.validation import ExpectationFailure, ValidationReport
from {{ cookiecutter.package_name }}.settings import Settings
from worked_example import CATEGORY

PASSED = ValidationReport(success=True, rows=2_000, evaluated=30, suite="s")
FAILED = ValidationReport(
    success=False,
    rows=2_000,
    evaluated=30,
    failures=(ExpectationFailure("expect_column_values_to_be_in_set", CATEGORY, "1 values"),),
    suite="s",
)


def test_valid_batch_is_stored_once_then_recorded_as_duplicate(
    settings: Settings, clean_batch: pd.DataFrame
) -> None:
    first = record_outcome(clean_batch, PASSED, "test", settings)
    second = record_outcome(clean_batch, PASSED, "test", settings)
    assert (first.status, second.status) == ("validated", "duplicate")
    assert second.path == first.path
    assert len(list(settings.validated_dir.iterdir())) == 1


def test_same_bad_batch_twice_is_rejected_twice_and_kept_once(
    settings: Settings, clean_batch: pd.DataFrame
) -> None:
    for _ in range(2):
        with pytest.raises(BatchRejectedError, match=f"{CATEGORY}: 1 values"):
            record_outcome(clean_batch, FAILED, "test", settings)
    assert len(list(settings.quarantine_dir.glob("*.parquet"))) == 1
    assert len(list(settings.quarantine_dir.glob("*.report.json"))) == 1
    assert [r["status"] for r in read_jsonl(settings.ingestion_log)] == ["rejected", "rejected"]
    assert not settings.validated_dir.exists()
