"""Step 2: the contract is valid, and it is what the GX suite is built from."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from {{ cookiecutter.package_name }}.contract import ContractError, DataContract, load_contract
from {{ cookiecutter.package_name }}.data.validation import build_expectations
from {{ cookiecutter.package_name }}.settings import Settings
from worked_example import (
    CATEGORY,
    FLOAT_FEATURE,
    ID,
    INT_FEATURE,
    OTHER_CATEGORY,
    TARGET,
    TIMESTAMP,
)


def test_packaged_contract_roles(contract: DataContract) -> None:
    assert contract.target.name == TARGET
    assert contract.id_column == ID
    assert contract.timestamp_column == TIMESTAMP
    assert set(contract.numeric_features) >= {INT_FEATURE, FLOAT_FEATURE}
    assert set(contract.categorical_features) >= {CATEGORY, OTHER_CATEGORY}


def test_every_contract_rule_becomes_an_expectation(contract: DataContract) -> None:
    rules = {(e.expectation_type, getattr(e, "column", None)) for e in build_expectations(contract)}
    for column in contract.columns:
        # Its type is checked: by the values' types, or (a bool) by the values themselves.
        typed = {"expect_column_values_to_be_in_type_list", "expect_column_values_to_be_in_set"}
        assert {(name, column.name) for name in typed} & rules, column.name
        assert ("expect_column_values_to_not_be_null", column.name) in rules
        if column.min is not None or column.max is not None:
            assert ("expect_column_values_to_be_between", column.name) in rules
        if column.values is not None:
            assert ("expect_column_values_to_be_in_set", column.name) in rules
        if column.unique:
            assert ("expect_column_values_to_be_unique", column.name) in rules


def _columns(**extra: object) -> list[dict[str, object]]:
    return [
        {"name": "x", "type": "float", **extra},
        {"name": "y", "type": "int", "role": "target", "values": [0, 1]},
    ]


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        (_columns(min=2, max=1), "min 2.0 is above max 1.0"),
        ([{"name": "x", "type": "category"}, *_columns()[1:]], "lists its allowed `values`"),
        (
            [*_columns(), {"name": "z", "type": "int", "role": "target", "values": [0]}],
            "exactly one",
        ),
        ([*_columns(), {"name": "x", "type": "int"}], "duplicate column names: x"),
        ([{"name": "score", "type": "int"}, *_columns()[1:]], "reserved"),
        ([{"name": "tab\there", "type": "int"}, *_columns()[1:]], "control character"),
        ([{"name": "note", "type": "string"}, *_columns()[1:]], "cannot be a feature"),
        (_columns(colour="red"), "colour"),
        ([*_columns(), {"name": "z", "type": "int", "positive": 1}], "only the target"),
        (_columns(entity="user"), "its entity 'user' is not a column with role: entity"),
        ([{"name": "u", "type": "float", "role": "entity"}, *_columns()], "key is int or string"),
        (
            [{"name": "u", "type": "string", "role": "entity", "entity": "u"}, *_columns()],
            "only a feature belongs",
        ),
    ],
)
def test_invalid_contracts_are_rejected(
    tmp_path: Path, columns: list[dict[str, object]], message: str
) -> None:
    path = tmp_path / "contract.yaml"
    path.write_text(yaml.safe_dump({"name": "t", "version": 1, "columns": columns}))
    with pytest.raises(ContractError, match=message):
        load_contract(path)


def test_packaged_contract_is_the_settings_default() -> None:
    assert Settings().contract_file.name == "contract.yaml"
    assert Settings().contract_file.is_file()


def test_with_a_feature_store_requests_carry_keys_instead_of_entity_features(
    contract: DataContract,
) -> None:
    columns = [c.model_dump(exclude_defaults=True) for c in contract.columns]
    for column in columns:
        if column["name"] == FLOAT_FEATURE:
            column["entity"] = "owner"
    key = {"name": "owner", "type": "string", "role": "entity"}
    stored = DataContract.model_validate(
        contract.model_dump(exclude={"columns"}) | {"columns": [*columns, key]}
    )
    assert stored.entity_features("owner") == [FLOAT_FEATURE]
    assert stored.request_columns() == contract.request_columns()  # the key is not sent
    with_store = stored.request_columns(feature_store=True)
    assert FLOAT_FEATURE not in with_store and "owner" in with_store
    assert stored.max_record_json_bytes(True) != stored.max_record_json_bytes()
