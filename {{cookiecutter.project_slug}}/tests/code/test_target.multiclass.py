"""What a multiclass target may be: the contract's rule, the encoding by the classes' order,
inference's refusals, step 1's start."""

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
    frame = pd.DataFrame({"size": rng.uniform(1, 9, ROWS), "kind": rng.choice(["a", "b"], ROWS)})
    return frame.assign(y=target)


def contract_with(target: dict[str, object], *others: dict[str, object]) -> DataContract:
    return DataContract.model_validate(
        {
            "name": "t",
            "version": 1,
            "columns": [
                {"name": "x", "type": "float"},
                *others,
                {"name": "y", "role": "target", **target},
            ],
        }
    )


def test_classes_are_encoded_by_their_order_in_the_contract() -> None:
    named = contract_with({"type": "category", "values": ["low", "mid", "high"]})
    encoded = named.encode_target(pd.Series(["high", "low", "mid", "high"]))
    assert encoded.tolist() == [2, 0, 1, 2] and encoded.dtype == "int64"
    numbered = contract_with({"type": "int", "values": [3, 1, 2]})
    assert numbered.encode_target(pd.Series([1, 2, 3])).tolist() == [1, 2, 0]
    shape = named.prediction
    assert shape.fields == (
        "score",
        "predicted_class",
        "probability_low",
        "probability_mid",
        "probability_high",
    )
    raw = np.array([[0.2, 0.5, 0.3], [0.1, 0.1, 0.8]])
    columns = shape.columns(raw)
    assert columns["predicted_class"].tolist() == ["mid", "high"]
    assert columns["score"].tolist() == [0.5, 0.8]
    answer = shape.answers(raw)[1]
    assert answer["predicted_class"] == "high"
    assert answer["probabilities"] == {"low": 0.1, "mid": 0.1, "high": 0.8}


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ({"type": "float"}, "problem_type=regression"),
        ({"type": "bool"}, "problem_type=binary_classification"),
        ({"type": "int", "values": [0, 1]}, "three or more.*problem_type=binary_classification"),
        ({"type": "category", "values": ["a", "b", "c"], "positive": "c"}, "positive"),
    ],
)
def test_other_targets_are_refused(target: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        contract_with(target)


def test_a_column_named_like_a_prediction_field_is_refused() -> None:
    with pytest.raises(ValueError, match="probability_b"):
        contract_with(
            {"type": "category", "values": ["a", "b", "c"]},
            {"name": "probability_b", "type": "float"},
        )


def test_inferred_targets_users_have() -> None:
    labels = np.random.default_rng(1).choice(["free", "plus", "pro"], ROWS, p=[0.6, 0.3, 0.1])
    inferred = infer_contract(table(labels), target="y", name="t")
    assert inferred.contract.target.type == "category"
    assert inferred.contract.target.labels == ("free", "plus", "pro")
    assert any("order of its `values`" in item for item in inferred.review)
    numbered = infer_contract(table(np.arange(ROWS) % 4), target="y", name="t").contract
    assert numbered.target.type == "int" and numbered.target.labels == (0, 1, 2, 3)


@pytest.mark.parametrize(
    ("target", "arguments", "message"),
    [
        (np.arange(ROWS) % 2, {}, r"2 class\(es\).*problem_type=binary_classification"),
        (np.linspace(0, 1, ROWS), {}, "too many to be classes.*problem_type=regression"),
        (np.arange(ROWS) % 3, {"positive": "1"}, "no positive class"),
    ],
)
def test_targets_that_are_not_three_classes_or_more_are_refused(
    target: object, arguments: dict[str, str], message: str
) -> None:
    with pytest.raises(InferenceError, match=message):
        infer_contract(table(target), target="y", name="t", **arguments)


def test_starting_requirements_judge_on_macro_f1_above_the_commonest_class() -> None:
    labels = np.random.default_rng(2).choice(["free", "plus", "pro"], 3_000, p=[0.6, 0.3, 0.1])
    frame = pd.DataFrame({"x": np.arange(3_000) % 7 * 1.0, "y": labels})
    contract = infer_contract(frame, target="y", name="t").contract
    text = requirements_yaml(contract, frame)
    requirements = SystemRequirements.model_validate(yaml.safe_load(text))
    offline = requirements.offline_metrics
    assert offline.primary == "macro_f1" and offline.higher_is_better
    floor = offline.thresholds["macro_f1"].min
    assert floor is not None
    # Always answering the commonest class: F1 of 0.75 on it (precision 0.6, recall 1), 0 on
    # the others, a macro F1 of 0.25, under the floor.
    assert 0.25 < floor < 0.6
    assert "post" not in text.lower()
