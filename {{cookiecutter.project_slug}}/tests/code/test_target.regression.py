"""What a regression target may be: the contract's rule, inference's refusals, step 1's start."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from {{ cookiecutter.package_name }}.contract import DataContract
from {{ cookiecutter.package_name }}.contract.inference import infer_contract, requirements_yaml
from {{ cookiecutter.package_name }}.contract.values import InferenceError
from {{ cookiecutter.package_name }}.requirements.spec import SystemRequirements

ROWS = 400


def table(target: Any) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {"size": rng.uniform(1, 9, ROWS), "kind": rng.choice(["a", "b"], ROWS)}
    ).assign(y=target)


def contract_with(target: dict[str, object]) -> DataContract:
    return DataContract.model_validate(
        {
            "name": "t",
            "version": 1,
            "columns": [{"name": "x", "type": "float"}, {"name": "y", "role": "target", **target}],
        }
    )


def test_int_and_float_targets_are_quantities() -> None:
    assert contract_with({"type": "float"}).target.type == "float"
    contract = contract_with({"type": "int", "min": 0})
    encoded = contract.encode_target(pd.Series([3, 4]))
    assert encoded.dtype == "float64" and encoded.tolist() == [3.0, 4.0]


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ({"type": "category", "values": ["a", "b"]}, "problem_type=binary_classification"),
        ({"type": "bool"}, "regression needs an int or float target"),
        ({"type": "float", "positive": 1}, "a regression target has none"),
    ],
)
def test_other_targets_are_refused_naming_the_option(
    target: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        contract_with(target)


def test_inferred_target_has_a_widened_range() -> None:
    values = np.random.default_rng(1).gamma(2.0, 30.0, ROWS).round(2)
    inferred = infer_contract(table(values), target="y", name="t")
    target = inferred.contract.target
    # A hard minimum (never negative), and an expected range past the 99th percentile.
    assert target.type == "float" and (target.min, target.max) == (0.0, None)
    assert target.expected is not None and target.expected.max is not None
    assert target.expected.max > np.quantile(values, 0.99)
    assert "a quantity from" in inferred.notes["y"]
    whole = infer_contract(table(np.arange(ROWS) % 7), target="y", name="t").contract
    assert whole.target.type == "int"


@pytest.mark.parametrize(
    ("target", "arguments", "message"),
    [
        (np.arange(ROWS) % 2, {}, "set of classes, not a quantity; bake with problem_type"),
        (np.where(np.arange(ROWS) % 2, "yes", "no"), {}, "is not a number"),
        (np.arange(ROWS) % 2 == 0, {}, "is not a number"),
        (np.arange(ROWS) * 1.5, {"positive": "1"}, "--positive names a class"),
    ],
)
def test_targets_that_are_classes_are_refused(
    target: object, arguments: dict[str, str], message: str
) -> None:
    with pytest.raises(InferenceError, match=message):
        infer_contract(table(target), target="y", name="t", **arguments)


def test_starting_requirements_judge_mae_against_the_median_guess() -> None:
    values = np.random.default_rng(2).gamma(2.0, 30.0, ROWS)
    frame = table(values)
    contract = infer_contract(frame, target="y", name="t").contract
    requirements = SystemRequirements.model_validate(
        yaml.safe_load(requirements_yaml(contract, frame))
    )
    offline = requirements.offline_metrics
    assert offline.primary == "mae" and offline.higher_is_better is False
    ceiling = offline.thresholds["mae"].max
    constant_mae = float(np.abs(values - np.median(values)).mean())
    assert ceiling == pytest.approx(constant_mae, rel=0.01)


def test_a_classification_setting_in_step_1_is_refused() -> None:
    from {{ cookiecutter.package_name }}.requirements import OfflineMetrics

    with pytest.raises(ValueError, match="decision_threshold"):
        OfflineMetrics.model_validate(
            {"primary": "mae", "thresholds": {"mae": {"max": 3}}, "decision_threshold": 0.3}
        )
