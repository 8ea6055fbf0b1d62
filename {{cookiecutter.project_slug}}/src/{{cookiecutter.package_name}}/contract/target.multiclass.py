"""The target of a multiclass classification: what it may be, how it is encoded, how it is
inferred.

A target is an int or category column listing three or more classes in its `values`; the order
of that list is the order of the model's probabilities (and of the `probability_<class>`
columns a scored row gains). Models are fitted and judged on each class's position in it. This
file is the task's part of step 2: another task's project has its own `target.py` instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from .column_types import CATEGORY_LIMIT
from .prediction import ClassProbabilities
from .values import InferenceError, plain, require_complete

if TYPE_CHECKING:
    from .spec import DataContract

TASK = "multiclass classification"
# What the service says a score is (the OpenAPI document's description of `score`).
SCORE_DESCRIPTION = "P(target = the predicted class) for the record: the likeliest class's"
# What the model answers per record (`prediction.py`): every class's probability, bound to the
# contract's classes.
PREDICTION = ClassProbabilities(SCORE_DESCRIPTION)
# Without a timestamp, the holdout is sampled per class so it keeps every class's share (a
# rare class could otherwise be missing from it).
STRATIFY_HOLDOUT = True
# Classes a target may have at most: each is a probability in every answer and a row of the
# model card's tables.
MAX_CLASSES = CATEGORY_LIMIT


def check_target(contract: DataContract) -> None:
    """Raise ValueError when the contract's target cannot be a multiclass label."""
    target = contract.target
    if target.type not in ("int", "category"):
        hint = (
            " (two classes are a binary classification: bake with "
            "problem_type=binary_classification)"
            if target.type == "bool"
            else " (a quantity to predict is a regression project: bake with "
            "problem_type=regression)"
        )
        raise ValueError(
            f"the target {target.name} is a {target.type} column: multiclass classification "
            f"needs an int or category target listing its classes{hint}"
        )
    if target.positive is not None:
        raise ValueError(
            f"the target {target.name} names a `positive` class: a multiclass target has none "
            "(every class gets its probability)"
        )
    classes = target.labels
    if not classes:
        raise ValueError(
            f"the target {target.name} lists no `values`: multiclass classification needs its "
            "classes, in the order the model answers them"
        )
    if len(set(classes)) < 3:
        raise ValueError(
            f"the target {target.name} lists {len(set(classes))} `values`: multiclass "
            "classification needs three or more (two classes are a binary classification: bake "
            "with problem_type=binary_classification)"
        )
    if len(classes) > MAX_CLASSES:
        raise ValueError(
            f"the target {target.name} lists {len(classes)} classes, more than {MAX_CLASSES}"
        )
    if len({str(label) for label in classes}) != len(classes):
        raise ValueError(f"the target {target.name} lists a class twice (as text)")
    taken = set(PREDICTION.bound(contract).fields) & set(contract.column_names)
    if taken:
        raise ValueError(
            f"column(s) {', '.join(sorted(taken))}: the names a prediction of this target "
            "writes beside a record; rename them"
        )


def encode_target(contract: DataContract, values: pd.Series) -> pd.Series:
    """Each class as its position in the contract's `values` (what models are fitted and
    judged on); a value outside them is missing, which validation has refused before."""
    positions = {str(label): position for position, label in enumerate(contract.target.labels)}
    return values.astype(str).map(positions).astype("int64")


def output_meaning(contract: DataContract) -> str:
    """What a served score is, in words."""
    target = contract.target
    classes = ", ".join(str(label) for label in target.labels)
    return f"P({target.name} = each of {classes}); the score is the predicted class's"


def infer_target(values: pd.Series, positive: str | None) -> tuple[dict[str, Any], str | None]:
    """The target's contract entry, and a note for the reviewer on the classes' order."""
    name = values.name
    require_complete(values)
    if positive is not None:
        raise InferenceError(
            "--positive names a binary classification's positive class: a multiclass target "
            "has no positive class"
        )
    counts = values.value_counts()
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if len(counts) < 3:
        raise InferenceError(
            f"the target {name!r} has {len(counts)} class(es): multiclass classification needs "
            "three or more (two classes are a binary classification: bake with "
            "problem_type=binary_classification)"
        )
    if len(counts) > MAX_CLASSES or (numeric and not pd.api.types.is_integer_dtype(values)):
        raise InferenceError(
            f"the target {name!r} has {len(counts)} distinct values: too many to be classes "
            "(a quantity to predict is a regression project: bake with problem_type=regression)"
        )
    classes = sorted(plain(value) for value in counts.index) if numeric else None
    entry: dict[str, Any] = {"role": "target"}
    if classes is not None:
        entry |= {"type": "int", "values": classes}
    else:
        entry |= {"type": "category", "values": sorted(str(value) for value in counts.index)}
    note = (
        f"target with {len(counts)} classes; the model answers a probability for each, in the "
        "order of its `values` (sorted here): reorder them to read the answers your way"
    )
    return entry, note


def describe_target(contract: DataContract, frame: pd.DataFrame) -> str:
    """One line for the inference report: the classes, the commonest and the rarest."""
    shares = frame[contract.target.name].astype(str).value_counts(normalize=True)
    return (
        f"target; {len(shares)} classes, the commonest {shares.index[0]!r} ({shares.iloc[0]:.1%} "
        f"of rows), the rarest {shares.index[-1]!r} ({shares.iloc[-1]:.1%})"
    )


def starting_requirements(
    contract: DataContract, frame: pd.DataFrame
) -> tuple[dict[str, str], dict[str, Any], str]:
    """Step 1's goals, offline metrics and a comment on them, for a newly inferred table: macro
    F1 (every class counts the same, however rare) with a floor a model that always answers the
    commonest class does not reach."""
    classes = len(contract.target.labels)
    floor = round(min(0.9, 1.0 / classes + 0.1), 2)
    output = output_meaning(contract)
    goals = {
        "business_goal": f"REVIEW: what acting on {contract.target.name} changes, and for whom.",
        "ml_objective": f"Estimate {output} for each row of {contract.name}, good on every "
        "class, the rare ones too.",
    }
    offline = {
        "primary": "macro_f1",
        "higher_is_better": True,
        "min_improvement": 0.0001,
        "bootstrap_rounds": 500,
        "bootstrap_confidence": 0.95,
        "thresholds": {"macro_f1": {"min": floor}},
    }
    comment = (
        f"macro_f1 >= {floor} is a floor a model that always answers the commonest of the "
        f"{classes} classes stays under: raise it once you know what your data allows."
    )
    return goals, offline, comment
