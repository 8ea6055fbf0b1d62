"""Each contract type's definition (`contract/column_types.py`) holds together: its example
values, as a column of the worked example's table, go through every step the way the steps use
them (read from a CSV, validated, sent in a request, given to the model, tested for drift,
shifted by the replay, stored by the feature store). A new type is checked by adding it to the
registry: nothing here names a type. (Its Feast types are checked where Feast is installed:
`e2e/test_feature_store.py`.)"""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any, get_args

import numpy as np
import pandas as pd
import pytest
from pydantic import TypeAdapter, ValidationError

from {{ cookiecutter.package_name }}.contract import Column, DataContract
from {{ cookiecutter.package_name }}.contract import spec as contract_module
from {{ cookiecutter.package_name }}.contract.column_types import (
    ENCODINGS,
    TYPES,
    ColumnType,
    DriftMove,
)
from {{ cookiecutter.package_name }}.data.batches import read_batch
from {{ cookiecutter.package_name }}.data.validation import evaluate
from {{ cookiecutter.package_name }}.modeling.features import feature_frame, preprocessor
from {{ cookiecutter.package_name }}.serving.local import request_records
from {{ cookiecutter.package_name }}.serving.schemas import json_rows, record_model

NAME = "extra column"
ROWS = 60  # at least: the contract may ask for more


def _cases() -> list[Any]:
    """A column of each type (as a feature where the type can be one), and, where a type may
    list its values, one that lists its examples."""
    cases = []
    for name, definition in TYPES.items():
        role = "feature" if definition.not_a_feature is None else "ignored"
        for listed in (False, True) if definition.listed else (False,):
            entry: dict[str, Any] = {"name": NAME, "type": name, "role": role}
            if listed:
                entry["values"] = list(definition.examples)
            try:
                Column.model_validate(entry)
            except ValidationError:
                continue  # the type needs its values listed
            cases.append(pytest.param(entry, id=name + ("-listed" if listed else "")))
    return cases


CASES = _cases()


def _with_column(contract: DataContract, entry: dict[str, Any]) -> DataContract:
    raw = contract.model_dump()
    return DataContract.model_validate(raw | {"columns": [*raw["columns"], entry]})


def _case(
    entry: dict[str, Any], contract: DataContract, clean_batch: pd.DataFrame, tmp_path: Path
) -> tuple[DataContract, Column, pd.DataFrame]:
    """The contract with the column added, the column, and the worked example's rows with it
    (its examples in turn, as a client writes them), written to a CSV and read back as every
    step reads a batch."""
    extended = _with_column(contract, entry)
    column = extended.column(NAME)
    rows = max(ROWS, extended.min_rows)
    frame = clean_batch.head(rows).copy()
    frame[NAME] = list(itertools.islice(itertools.cycle(column.definition.examples), rows))
    path = tmp_path / "batch.csv"
    frame.to_csv(path, index=False)
    return extended, column, read_batch(path, extended)


def test_the_registry_lists_every_type_by_its_name() -> None:
    assert set(TYPES) == set(get_args(ColumnType))
    assert all(definition.name == name for name, definition in TYPES.items())
    assert all(len(definition.examples) >= 2 for definition in TYPES.values())


def test_step_2_readme_has_a_row_for_every_type() -> None:
    readme = Path(contract_module.__file__).with_name("README.md")
    section = readme.read_text(encoding="utf-8").split("## Column types", 1)[1].split("\n## ", 1)[0]
    rows = set(re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.M))
    assert rows == set(TYPES)


def test_a_type_can_be_a_feature_exactly_when_it_has_an_encoding() -> None:
    for definition in TYPES.values():
        assert (definition.encoding is None) == (definition.not_a_feature is not None)
        assert definition.encoding is None or definition.encoding in ENCODINGS


@pytest.mark.parametrize("entry", CASES)
def test_examples_read_from_a_csv_pass_the_suite_before_and_after_the_replay_shifts_them(
    entry: dict[str, Any], contract: DataContract, clean_batch: pd.DataFrame, tmp_path: Path
) -> None:
    extended, column, frame = _case(entry, contract, clean_batch, tmp_path)
    assert str(frame[NAME].dtype) in column.dtypes
    assert frame[NAME].notna().all()
    report = evaluate(frame, extended).report
    assert report.success, report.failures

    move = DriftMove(std=0.5, share=0.3, rng=np.random.default_rng(1))
    shifted = frame.assign(
        **{NAME: column.definition.shift(frame[NAME], column, frame[NAME], move)}
    )
    assert len(shifted) == len(frame)
    report = evaluate(shifted, extended).report
    assert report.success, report.failures


@pytest.mark.parametrize("entry", CASES)
def test_examples_are_valid_request_values_and_round_trip_through_a_request(
    entry: dict[str, Any], contract: DataContract, clean_batch: pd.DataFrame, tmp_path: Path
) -> None:
    extended, column, frame = _case(entry, contract, clean_batch, tmp_path)
    field: TypeAdapter[Any] = TypeAdapter(column.definition.request_field(column))
    for example in column.definition.examples:
        field.validate_python(example)
    with pytest.raises(ValidationError):
        field.validate_python({"not": "a value"})
    if column.role != "feature":
        return
    record = record_model(extended)
    records = [record.model_validate(row) for row in request_records(frame, extended)]
    sent = pd.Series([row[NAME] for row in json_rows(records)])
    assert sent.nunique() == frame[NAME].nunique()
    # What the service scores is what the batch held.
    again = pd.DataFrame(json_rows(records))
    assert column.definition.normalise(again[NAME]).tolist() == frame[NAME].tolist()


@pytest.mark.parametrize("entry", [case for case in CASES if case.values[0]["role"] == "feature"])
def test_the_model_the_drift_tests_and_the_feature_store_take_the_examples(
    entry: dict[str, Any], contract: DataContract, clean_batch: pd.DataFrame, tmp_path: Path
) -> None:
    extended, column, frame = _case(entry, contract, clean_batch, tmp_path)
    definition = column.definition

    transformer = preprocessor(extended)
    encoded = np.asarray(transformer.fit_transform(feature_frame(frame, extended)), dtype=float)
    assert encoded.shape[0] == len(frame)
    assert np.isfinite(encoded).all()
    assert NAME in transformer.feature_names_in_

    drifted = definition.drift_values(frame[NAME])
    assert definition.drift_role in ("numerical", "categorical")
    assert drifted.isna().tolist() == frame[NAME].isna().tolist()
    if definition.drift_role == "numerical":
        assert pd.api.types.is_numeric_dtype(drifted)

    field: TypeAdapter[Any] = TypeAdapter(definition.request_field(column))
    field.validate_python(definition.typical(frame[NAME], column))
    assert frame[NAME].astype(definition.frame_dtype(frame[NAME])).tolist() == frame[NAME].tolist()
