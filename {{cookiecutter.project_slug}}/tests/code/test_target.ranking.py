"""What a ranking target may be: the contract's rule, inference's refusals, step 1's start."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from {{ cookiecutter.package_name }}.contract import DataContract
from {{ cookiecutter.package_name }}.contract.inference import infer_contract, requirements_yaml
from {{ cookiecutter.package_name }}.contract.values import InferenceError
from {{ cookiecutter.package_name }}.requirements.metrics import random_ndcg
from {{ cookiecutter.package_name }}.requirements.spec import SystemRequirements

ROWS = 400


def table(target: Any) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "query": np.repeat(np.arange(ROWS // 10), 10),
            "size": rng.uniform(1, 9, ROWS),
            "kind": rng.choice(["a", "b"], ROWS),
        }
    ).assign(y=target)


def contract_with(target: dict[str, object], group: bool = True) -> DataContract:
    columns: list[dict[str, object]] = [{"name": "x", "type": "float"}]
    if group:
        columns.append({"name": "q", "type": "string", "role": "group"})
    return DataContract.model_validate(
        {
            "name": "t",
            "version": 1,
            "columns": [*columns, {"name": "y", "role": "target", **target}],
        }
    )


def test_grades_and_bools_are_relevance() -> None:
    contract = contract_with({"type": "int", "values": [0, 1, 2, 3]})
    assert contract.group_column == "q"
    encoded = contract.encode_target(pd.Series([3, 0]))
    assert encoded.dtype == "int64" and encoded.tolist() == [3, 0]
    assert contract_with({"type": "bool"}).encode_target(pd.Series([True, False])).tolist() == [
        1,
        0,
    ]
    assert contract_with({"type": "int", "min": 0, "max": 4}).target.max == 4


@pytest.mark.parametrize(
    ("target", "group", "message"),
    [
        ({"type": "int", "values": [0, 1]}, False, "needs a column with role: group"),
        ({"type": "float"}, True, "problem_type=regression"),
        ({"type": "int", "min": 0}, True, "must be a relevance grade"),
        ({"type": "int", "values": [-1, 0, 1]}, True, "must be a relevance grade"),
        ({"type": "category", "values": ["a", "b"]}, True, "must be a relevance grade"),
    ],
)
def test_other_targets_are_refused_naming_the_option(
    target: dict[str, object], group: bool, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        contract_with(target, group)


def test_query_level_features_need_a_group() -> None:
    with pytest.raises(ValueError, match="`level: query` needs a column with role: group"):
        DataContract.model_validate(
            {
                "name": "t",
                "version": 1,
                "columns": [
                    {"name": "x", "type": "float", "level": "query"},
                    {"name": "y", "type": "float", "role": "target"},
                ],
            }
        )


def test_inferred_target_lists_its_grades_and_the_group_is_kept() -> None:
    grades = np.arange(ROWS) % 4
    inferred = infer_contract(table(grades), target="y", name="t", group="query")
    target = inferred.contract.target
    assert (target.min, target.max, target.values) == (0, 30, None)  # a grade's own bounds
    assert target.expected is not None and target.expected.max == 3  # the highest seen
    assert inferred.contract.group_column == "query"
    assert "40 queries of 10 to 10 rows" in inferred.notes["query"]
    assert "relevance grades" in inferred.notes["y"]


@pytest.mark.parametrize(
    ("target", "arguments", "message"),
    [
        (np.arange(ROWS) * 1.5, {"group": "query"}, "is not a relevance grade"),
        (np.arange(ROWS) % 3 - 1, {"group": "query"}, "is not a relevance grade"),
        (np.where(np.arange(ROWS) % 2, "yes", "no"), {"group": "query"}, "not a relevance grade"),
        (np.arange(ROWS) % 2, {"group": "query", "positive": "1"}, "--positive names a class"),
        (np.arange(ROWS) % 2, {}, "contract infer --group COLUMN"),
    ],
)
def test_targets_that_are_not_grades_are_refused(
    target: object, arguments: dict[str, str], message: str
) -> None:
    with pytest.raises(InferenceError, match=message):
        infer_contract(table(target), target="y", name="t", **arguments)


def test_starting_requirements_judge_ndcg_against_a_random_order() -> None:
    grades = np.random.default_rng(2).integers(0, 3, ROWS)
    frame = table(grades)
    contract = infer_contract(frame, target="y", name="t", group="query").contract
    requirements = SystemRequirements.model_validate(
        yaml.safe_load(requirements_yaml(contract, frame))
    )
    offline = requirements.offline_metrics
    assert offline.primary == "ndcg_at_k" and offline.higher_is_better and offline.k == 5
    floor = random_ndcg(frame["query"].to_numpy(), grades, k=5)
    assert offline.thresholds["ndcg_at_k"].min == pytest.approx(floor, abs=0.01)


def test_a_classification_setting_in_step_1_is_refused() -> None:
    from {{ cookiecutter.package_name }}.requirements import OfflineMetrics

    with pytest.raises(ValueError, match="decision_threshold"):
        OfflineMetrics.model_validate(
            {"primary": "mrr", "thresholds": {"mrr": {"min": 0.3}}, "decision_threshold": 0.3}
        )
