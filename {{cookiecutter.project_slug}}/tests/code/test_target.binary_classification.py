"""What a binary classification target may be: the contract's rule, the positive class,
inference's refusals, step 1's start."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from {{ cookiecutter.package_name }}.contract import DataContract
from {{ cookiecutter.package_name }}.contract.inference import infer_contract, requirements_yaml
from {{ cookiecutter.package_name }}.contract.target import positive_label
from {{ cookiecutter.package_name }}.contract.values import InferenceError
from {{ cookiecutter.package_name }}.requirements.spec import SystemRequirements

ROWS = 400


def table(target: Any) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"size": rng.uniform(1, 9, ROWS), "kind": rng.choice(["a", "b"], ROWS)})
    return frame.assign(y=target)


def contract_with(target: dict[str, object]) -> DataContract:
    return DataContract.model_validate(
        {
            "name": "t",
            "version": 1,
            "columns": [{"name": "x", "type": "float"}, {"name": "y", "role": "target", **target}],
        }
    )


def test_positive_class_defaults_and_encoding() -> None:
    assert positive_label(contract_with({"type": "int", "values": [0, 1]})) == 1
    assert positive_label(contract_with({"type": "bool"})) is True
    named = contract_with({"type": "category", "values": ["stay", "left"], "positive": "left"})
    assert named.encode_target(pd.Series(["left", "stay", "left"])).tolist() == [1, 0, 1]


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ({"type": "float"}, "bake with problem_type=regression"),
        ({"type": "int", "values": [0, 1, 2]}, "needs exactly two.*problem_type=multiclass"),
        ({"type": "category", "values": ["a", "b"]}, "name the positive class"),
        ({"type": "category", "values": ["a", "b"], "positive": "c"}, "is not one of its values"),
    ],
)
def test_other_targets_are_refused(target: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        contract_with(target)


def test_inferred_targets_users_have() -> None:
    labels = np.random.default_rng(1).choice(["stayed", "left"], ROWS, p=[0.8, 0.2])
    inferred = infer_contract(table(labels), target="y", name="t")
    assert inferred.contract.target.type == "category"
    assert positive_label(inferred.contract) == "left"  # the rarer class, and the review says so
    assert any("--positive" in item for item in inferred.review)
    flags = np.where(np.arange(ROWS) % 3 == 0, "true", "false")
    flagged = infer_contract(table(flags), target="y", name="t").contract
    assert flagged.target.type == "bool" and positive_label(flagged) is True
    numeric = infer_contract(table(np.arange(ROWS) % 2), target="y", name="t").contract
    assert numeric.target.type == "int" and positive_label(numeric) == 1


@pytest.mark.parametrize(
    ("target", "arguments", "message"),
    [
        ("stayed", {}, r"one class only \('stayed'\)"),
        (
            np.arange(ROWS) % 3,
            {},
            r"has 3 classes \(0, 1, 2\): this project does binary classification.*"
            "problem_type=multiclass.*problem_type=regression",
        ),
        (np.arange(ROWS) % 2, {"positive": "7"}, "--positive '7' is not a class"),
    ],
)
def test_targets_that_are_not_two_classes_are_refused(
    target: object, arguments: dict[str, str], message: str
) -> None:
    with pytest.raises(InferenceError, match=message):
        infer_contract(table(target), target="y", name="t", **arguments)


def test_starting_requirements_put_the_threshold_at_the_positive_rate() -> None:
    labels = np.random.default_rng(2).choice(["stayed", "left"], 3_000, p=[0.8, 0.2])
    frame = pd.DataFrame({"x": np.arange(3_000) % 7 * 1.0, "y": labels})
    contract = infer_contract(frame, target="y", name="t").contract
    text = requirements_yaml(contract, frame)
    requirements = SystemRequirements.model_validate(yaml.safe_load(text))
    assert requirements.drift.min_window_rows == 300
    assert requirements.offline_metrics.decision_threshold == pytest.approx(
        round(float((labels == "left").mean()), 2)
    )
    assert "click" not in text.lower()
