"""Data tests: the GX suite built from the contract accepts good batches and names every breach."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.contract import DataContract
from {{ cookiecutter.package_name }}.data.batches import read_batch
from {{ cookiecutter.package_name }}.data.validation import ValidationReport, validate_batch
from {{ cookiecutter.package_name }}.settings import Settings
from worked_example import (
    BAD_TARGET,
    CATEGORY,
    FLOAT_FEATURE,
    HOUR,
    ID,
    ID_PREFIX,
    INT_FEATURE,
    INT_TARGET,
    OTHER_CATEGORY,
    ROLE_ENTRIES,
    TARGET,
    UNKNOWN_VALUE,
    role_columns,
)


def run(frame: pd.DataFrame, contract: DataContract, settings: Settings) -> ValidationReport:
    return validate_batch(frame, contract, settings.gx_dir, settings.data_docs_dir)


def test_clean_batch_passes_and_renders_data_docs(
    clean_batch: pd.DataFrame, contract: DataContract, settings: Settings
) -> None:
    report = run(clean_batch, contract, settings)
    assert report.success, report.summary()
    assert report.failures == ()
    assert report.evaluated > 2 * len(contract.columns)
    assert report.data_docs is not None
    page = Path(report.data_docs.removeprefix("file://"))
    assert page.is_file() and page.is_relative_to(settings.data_docs_dir)
    suite = f"{contract.name}_v{contract.version}.json"
    assert (settings.gx_dir / "expectations" / suite).is_file()


def test_a_parquet_file_of_pandas_string_columns_passes(
    clean_batch: pd.DataFrame, contract: DataContract, settings: Settings, tmp_path: Path
) -> None:
    """pandas' "string" dtype survives a Parquet round trip; its text is still text."""
    text = [c.name for c in contract.columns if c.type in ("string", "category")]
    path = tmp_path / "strings.parquet"
    clean_batch.astype(dict.fromkeys(text, "string")).to_parquet(path)
    report = run(read_batch(path, contract), contract, settings)
    assert report.success, report.summary()


def _set(column: str, row: int, value: object) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def corrupt(frame: pd.DataFrame) -> pd.DataFrame:
        values = frame[column].tolist()
        values[row] = value
        return frame.assign(**{column: values})

    return corrupt


CORRUPTIONS: dict[str, tuple[Callable[[pd.DataFrame], pd.DataFrame], str, str]] = {
    "null": (_set(INT_FEATURE, 3, np.nan), INT_FEATURE, "expect_column_values_to_not_be_null"),
    "out_of_range": (
        _set(HOUR, 5, 24),
        HOUR,
        "expect_column_values_to_be_between",
    ),
    "unknown_category": (
        _set(CATEGORY, 0, UNKNOWN_VALUE),
        CATEGORY,
        "expect_column_values_to_be_in_set",
    ),
    "bad_target": (_set(TARGET, 1, BAD_TARGET[0]), TARGET, BAD_TARGET[1]),
    "text_in_number": (
        _set(FLOAT_FEATURE, 2, "free"),
        FLOAT_FEATURE,
        "expect_column_values_to_be_in_type_list",
    ),
    "duplicate_id": (
        _set(ID, 9, f"{ID_PREFIX}-7-none-0"),
        ID,
        "expect_column_values_to_be_unique",
    ),
    "missing_column": (
        lambda f: f.drop(columns=[OTHER_CATEGORY]),
        OTHER_CATEGORY,
        "expect_table_columns_to_match_set",
    ),
    "extra_column": (lambda f: f.assign(secret=1), "secret", "expect_table_columns_to_match_set"),
    "too_few_rows": (lambda f: f.head(10), "", "expect_table_row_count_to_be_between"),
}


@pytest.mark.parametrize("case", sorted(CORRUPTIONS))
def test_each_breach_is_reported_with_its_column(
    case: str, clean_batch: pd.DataFrame, contract: DataContract, settings: Settings
) -> None:
    corrupt, column, expectation = CORRUPTIONS[case]
    report = run(corrupt(clean_batch), contract, settings)
    assert not report.success
    assert expectation in {failure.expectation for failure in report.failures}
    assert column in report.summary()
    assert "Data Docs: file://" in report.summary()


def with_roles(csv: str) -> str:
    """CSV text with the columns the task needs beside features and target (a ranking's
    query) added to each line."""
    header, *rows = csv.splitlines()
    extra = role_columns(len(rows), seed=0)
    lines = [",".join([header, *extra])]
    lines += [
        ",".join([row, *(values[i] for values in extra.values())]) for i, row in enumerate(rows)
    ]
    return "\n".join(lines) + "\n"


def test_bool_columns_as_files_write_them(tmp_path: Path, settings: Settings) -> None:
    """true/false/1/0 in any case (with gaps where nullable) pass; anything else is reported
    with examples, however the column was read."""
    from {{ cookiecutter.package_name }}.data.batches import read_batch

    contract = DataContract.model_validate(
        {
            "name": "flags",
            "version": 1,
            "columns": [
                {"name": "opted in?", "type": "bool", "nullable": True},
                {"name": "x", "type": "float"},
                # A small int target the task accepts (0 and 1 among its classes).
                {"name": "y", **INT_TARGET, "role": "target"},
                *ROLE_ENTRIES,
            ],
        }
    )
    good = tmp_path / "good.csv"
    good.write_text(with_roles("opted in?,x,y\nTRUE,1.0,1\n,2.0,0\nfalse,3.0,1\n 0 ,4.0,0\n"))
    frame = read_batch(good, contract)
    assert frame["opted in?"].tolist()[::2] == [True, False]
    assert frame["y"].tolist() == [1, 0, 1, 0]
    assert run(frame, contract, settings).success

    # A 0/1 column with gaps, as a float column writes it to Parquet.
    floats = frame.assign(**{"opted in?": pd.Series([1.0, None, 0.0, 0.0])})
    floats.to_parquet(tmp_path / "floats.parquet", index=False)
    again = read_batch(tmp_path / "floats.parquet", contract)
    assert again["opted in?"].tolist()[::2] == [True, False]

    bad = tmp_path / "bad.csv"
    bad.write_text(with_roles("opted in?,x,y\nmaybe,1.0,1\nyes,2.0,0\n"))
    report = run(read_batch(bad, contract), contract, settings)
    assert not report.success
    (failure,) = report.failures
    assert failure.column == "opted in?" and "'maybe'" in failure.detail
