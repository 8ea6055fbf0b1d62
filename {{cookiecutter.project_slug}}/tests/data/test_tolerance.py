"""A contract inferred from a first batch accepts the next batches of the same data, and refuses
a batch in other units, naming the column: on real tables a package ships (scikit-learn's
breast-cancer and diabetes tables, their own target replaced by this task's kind of target)
and on 20 seeds of the worked example, each split into three batches arriving over time.

The 20-seed sweeps judge batches with the contract's rules as `contract/tolerance.py` applies
them (fast); one seed of each table also goes through the Great Expectations suite ingestion
runs, and the two must agree.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes

from {{ cookiecutter.package_name }}.contract import DataContract
from {{ cookiecutter.package_name }}.contract.inference import infer_contract
from {{ cookiecutter.package_name }}.contract.tolerance import (
    beyond_tolerance,
    outside_expected,
    outside_limits,
)
from {{ cookiecutter.package_name }}.data.synthetic import generate_batch
from {{ cookiecutter.package_name }}.data.validation import evaluate
from worked_example import GROUP_ARGUMENT, ID, ROLES, TARGET, TIMESTAMP, own_target, role_columns

SEEDS = range(20)
EXPECTATION = "expect_column_values_to_be_between"


def real_table(name: str, seed: int) -> pd.DataFrame:
    """A real table's features, shuffled by `seed`, with this task's kind of target rising
    with its first feature (and the roles the task needs, such as a ranking's query)."""
    loader = {"breast cancer": load_breast_cancer, "diabetes": load_diabetes}[name]
    features = loader(as_frame=True).frame.drop(columns="target")
    features = features.sample(frac=1, random_state=seed).reset_index(drop=True)
    first = features.iloc[:, 0]
    signal = ((first - first.mean()) / first.std()).to_numpy()
    rng = np.random.default_rng(seed)
    roles = pd.DataFrame(role_columns(len(features), seed))
    target = pd.DataFrame({"outcome": own_target(rng, signal)})
    table: pd.DataFrame = pd.concat([features, roles, target], axis=1)
    return table


def thirds(frame: pd.DataFrame) -> list[pd.DataFrame]:
    """Three batches in arrival order."""
    bounds = np.linspace(0, len(frame), 4).astype(int)
    return [frame.iloc[a:b].reset_index(drop=True) for a, b in itertools.pairwise(bounds)]


def infer_real(first: pd.DataFrame) -> DataContract:
    return infer_contract(first, "outcome", "real_table", **ROLES).contract


def infer_example(first: pd.DataFrame) -> DataContract:
    roles: dict[str, Any] = {"id_column": ID, "timestamp": TIMESTAMP} | GROUP_ARGUMENT
    return infer_contract(first, TARGET, "worked_example", **roles).contract


def example_batches(seed: int) -> list[pd.DataFrame]:
    frame = generate_batch(rows=1_800, seed=seed)
    return thirds(frame.sort_values(TIMESTAMP, kind="stable").reset_index(drop=True))


def accepted(batch: pd.DataFrame, contract: DataContract) -> bool:
    breaking = {name: n for name, n in outside_limits(batch, contract).items() if n}
    return not breaking and not beyond_tolerance(batch, contract)


def assert_later_batches_pass(batches: list[pd.DataFrame], contract: DataContract) -> float:
    """Every later batch passes the contract inferred from the first; the largest share of a
    column's values outside its expected range."""
    worst = 0.0
    for batch in batches:
        found = (outside_limits(batch, contract), beyond_tolerance(batch, contract))
        assert accepted(batch, contract), found
        worst = max(worst, *outside_expected(batch, contract).values())
    return worst


@pytest.mark.parametrize("table", ["breast cancer", "diabetes"])
def test_later_batches_of_a_real_table_pass_the_contract_of_the_first(table: str) -> None:
    worst = 0.0
    for seed in SEEDS:
        first, *later = thirds(real_table(table, seed))
        worst = max(worst, assert_later_batches_pass(later, infer_real(first)))
    # The tolerance is not idle: some later batch did hold values outside an expected range.
    assert 0 < worst <= 0.10


def test_later_batches_of_the_worked_example_pass_the_contract_of_the_first() -> None:
    for seed in SEEDS:
        first, *later = example_batches(seed)
        assert_later_batches_pass(later, infer_example(first))


@pytest.mark.parametrize("table", ["breast cancer", "diabetes"])
def test_a_column_in_other_units_is_refused_and_named(table: str) -> None:
    first, second, _ = thirds(real_table(table, seed=0))
    contract = infer_real(first)
    ranged = [c.name for c in contract.features if c.expected is not None]
    assert len(ranged) >= 5
    for name in ranged:  # every column, judged by the rules
        wrong = second.assign(**{name: second[name] * 100})
        assert not accepted(wrong, contract), name
    # Through the suite ingestion runs: the same batch passes as it is, and a column x100 is
    # refused with a failure that names it.
    assert evaluate(second, contract).report.success
    name = ranged[len(ranged) // 2]
    report = evaluate(second.assign(**{name: second[name] * 100}), contract).report
    assert not report.success
    assert [f.column for f in report.failures if f.expectation == EXPECTATION] == [name]
    assert name in report.summary()


def test_values_outside_the_expected_range_within_tolerance_are_stored_and_reported() -> None:
    first, second, _ = thirds(real_table("breast cancer", seed=0))
    contract = infer_real(first)
    name = next(c.name for c in contract.features if c.expected and c.expected.max is not None)
    high = contract.column(name).expected
    assert high is not None and high.max is not None
    tolerated = second.copy()
    tolerated.loc[:2, name] = high.max * 1.5  # 3 of ~190 rows: inside the 10% tolerance
    report = evaluate(tolerated, contract).report
    assert report.success
    assert any(w.column == name for w in report.warnings)
    assert "expected range" in report.summary()


def test_the_worked_example_agrees_with_the_suite() -> None:
    first, second, _ = example_batches(seed=0)
    contract = infer_example(first)
    assert evaluate(second, contract).report.success == accepted(second, contract) is True
