"""The target of a regression: what it may be, how it is encoded, how it is inferred.

A target is an int or float column: a quantity (minutes, euros, units), every row has one.
Models are fitted and judged on it as a float. This file is the task's part of step 2: another
task's project has its own `target.py` instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .bounds import numeric_bounds
from .prediction import OneScore
from .values import InferenceError, is_bool_text, plain, require_complete

if TYPE_CHECKING:
    from .spec import DataContract

TASK = "regression"
# What the service says a score is (the OpenAPI document's description of `score`).
SCORE_DESCRIPTION = "The predicted target for the record, in the target's own unit"
# What the model answers per record (`prediction.py`).
PREDICTION = OneScore(SCORE_DESCRIPTION)
# Without a timestamp, the holdout is a plain random sample of the newest batches.
STRATIFY_HOLDOUT = False
# Fewer distinct values than this is a set of classes, not a quantity.
MIN_DISTINCT_VALUES = 3


def check_target(contract: DataContract) -> None:
    """Raise ValueError when the contract's target cannot be a regression target."""
    target = contract.target
    if target.type not in ("int", "float"):
        raise ValueError(
            f"the target {target.name} is a {target.type} column: regression needs an int or "
            "float target (classes to predict are a classification project: bake with "
            "problem_type=binary_classification)"
        )
    if target.positive is not None:
        raise ValueError(
            f"the target {target.name} names a `positive` class: a regression target has none"
        )


def encode_target(contract: DataContract, values: pd.Series) -> pd.Series:
    """The target as floats: what models are fitted and judged on."""
    return values.astype("float64")


def output_meaning(contract: DataContract) -> str:
    """What a served score is, in words."""
    return f"the predicted {contract.target.name}"


def infer_target(values: pd.Series, positive: str | None) -> tuple[dict[str, Any], str | None]:
    """The target's contract entry, and a note for the reviewer when a choice was guessed."""
    name = values.name
    if positive is not None:
        raise InferenceError(
            f"--positive names a class, and the regression target {name!r} has none: leave it out"
        )
    require_complete(values)
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    distinct = values.nunique()
    if not numeric or is_bool_text(values):
        raise InferenceError(
            f"the target {name!r} is not a number ({distinct} distinct values such as "
            f"{values.iloc[0]!r}): this project does regression; for classes, bake with "
            "problem_type=binary_classification"
        )
    if distinct < MIN_DISTINCT_VALUES:
        shown = ", ".join(repr(plain(value)) for value in sorted(values.unique())[:2])
        raise InferenceError(
            f"the target {name!r} takes {distinct} value(s) only ({shown}): that is a set of "
            "classes, not a quantity; bake with problem_type=binary_classification"
        )
    kind = "int" if pd.api.types.is_integer_dtype(values) else "float"
    entry = {"role": "target", "type": kind} | numeric_bounds(values, kind).fields
    return entry, None


def describe_target(contract: DataContract, frame: pd.DataFrame) -> str:
    """One line for the inference report: the target's spread."""
    values = encode_target(contract, frame[contract.target.name])
    return (
        f"target; a quantity from {values.min():g} to {values.max():g} (median {values.median():g})"
    )


def starting_requirements(
    contract: DataContract, frame: pd.DataFrame
) -> tuple[dict[str, str], dict[str, Any], str]:
    """Step 1's goals, offline metrics and a comment on them, for a newly inferred table: the
    MAE must beat always predicting the median, the floor any useful model clears."""
    values = encode_target(contract, frame[contract.target.name])
    constant_mae = float(np.abs(values - values.median()).mean())
    ceiling = float(f"{constant_mae:.3g}")
    output = output_meaning(contract)
    goals = {
        "business_goal": f"REVIEW: what acting on {output} changes, and for whom.",
        "ml_objective": f"Predict {contract.target.name} for each row of {contract.name}, with "
        "small absolute errors.",
    }
    offline = {
        "primary": "mae",
        "higher_is_better": False,
        "min_improvement": 0.0,
        "bootstrap_rounds": 500,
        "bootstrap_confidence": 0.95,
        "thresholds": {"mae": {"max": ceiling}},
    }
    comment = (
        f"mae <= {ceiling:g} is the error of always predicting the median: any useful model "
        "beats it; lower the bar once you know what your data allows."
    )
    return goals, offline, comment
