"""The target of a binary classification: what it may be, how it is encoded, how it is inferred.

A target is an int, bool or category column with exactly two values; `positive:` names the class
scores are the probability of (by default 1 of 0/1, or true of a bool). Models are fitted and
judged on it as 1 (positive) and 0. This file is the task's part of step 2: another task's
project has its own `target.py` instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from .prediction import OneScore
from .values import InferenceError, is_bool_text, plain, require_complete

if TYPE_CHECKING:
    from .column_types import Label
    from .spec import DataContract

TASK = "binary classification"
# What the service says a score is (the OpenAPI document's description of `score`).
SCORE_DESCRIPTION = "P(target = the contract's positive class) for the record"
# What the model answers per record (`prediction.py`).
PREDICTION = OneScore(SCORE_DESCRIPTION)
# Without a timestamp, the holdout is sampled per class so it keeps the positive rate.
STRATIFY_HOLDOUT = True


def check_target(contract: DataContract) -> None:
    """Raise ValueError when the contract's target cannot be a binary classification label."""
    target = contract.target
    if target.type not in ("int", "category", "bool"):
        raise ValueError(
            f"the target {target.name} is a {target.type} column: binary classification needs "
            "an int, bool or category target (a quantity to predict is a regression project: "
            "bake with problem_type=regression)"
        )
    if len(set(target.labels)) != 2:
        raise ValueError(
            f"the target {target.name} lists {len(set(target.labels))} `values`: binary "
            "classification needs exactly two (three or more classes are a multiclass "
            "classification: bake with problem_type=multiclass)"
        )
    _ = positive_label(contract)  # raises when the positive class is ambiguous


def positive_label(contract: DataContract) -> Label:
    """The target's positive class: `positive` when given, else 1 of 0/1 or true of a bool."""
    target = contract.target
    labels = target.labels
    if target.positive is not None:
        matches = [label for label in labels if _same_label(label, target.positive)]
        if not matches:
            raise ValueError(
                f"the target's positive class {target.positive!r} is not one of its values "
                f"{list(labels)}"
            )
        return matches[0]
    if target.type == "bool":
        return True
    if sorted(str(label) for label in labels) == ["0", "1"] and target.type == "int":
        return 1
    raise ValueError(
        f"the target {target.name} has values {list(labels)}: name the positive class with "
        "`positive:` (scores are the probability of that class)"
    )


def encode_target(contract: DataContract, values: pd.Series) -> pd.Series:
    """The target as 1 (positive class) and 0: what models are fitted and judged on."""
    positive = positive_label(contract)
    if isinstance(positive, bool) or contract.target.type != "category":
        return (values == positive).astype("int64")
    return (values.astype(str) == str(positive)).astype("int64")


def output_meaning(contract: DataContract) -> str:
    """What a served score is, in words."""
    return f"P({contract.target.name} = {positive_label(contract)})"


def _same_label(label: Label, given: Label) -> bool:
    """Whether a `positive:` names this label; YAML may have typed "1" or "true" differently."""
    if isinstance(label, bool) or isinstance(given, bool):
        return str(label).lower() == str(given).lower()
    return str(label) == str(given)


def infer_target(values: pd.Series, positive: str | None) -> tuple[dict[str, Any], str | None]:
    """The target's contract entry, and a note for the reviewer when a choice was guessed."""
    name = values.name
    require_complete(values)
    counts = values.value_counts()
    if len(counts) == 1:
        raise InferenceError(
            f"the target {name!r} has one class only ({counts.index[0]!r}): binary "
            "classification needs rows of two classes"
        )
    if len(counts) > 2:
        shown = ", ".join(repr(value) for value in list(counts.index)[:5])
        hint = " (three or more classes: bake with problem_type=multiclass" + (
            "; a quantity to predict is a regression project: bake with problem_type=regression)"
            if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
            else ")"
        )
        raise InferenceError(
            f"the target {name!r} has {len(counts)} classes ({shown}"
            f"{', ...' if len(counts) > 5 else ''}): this project does binary classification, "
            f"so the target needs exactly two{hint}"
        )
    entry: dict[str, Any] = {"role": "target"}
    classes = [plain(value) for value in counts.index]
    if pd.api.types.is_bool_dtype(values) or is_bool_text(values):
        entry |= {"type": "bool"}
        default: Any = True
    elif pd.api.types.is_integer_dtype(values):
        entry |= {"type": "int", "values": sorted(classes)}
        default = 1 if sorted(classes) == [0, 1] else None
    else:
        entry |= {"type": "category", "values": sorted(str(value) for value in classes)}
        default = None
    is_bool = entry["type"] == "bool"
    labels = [str(label).lower() if is_bool else str(label) for label in classes]
    note = None
    if positive is not None:
        if (positive.lower() if is_bool else positive) not in labels:
            raise InferenceError(
                f"--positive {positive!r} is not a class of the target {name!r}; its classes "
                f"are {', '.join(repr(label) for label in labels)}"
            )
        chosen: Any = positive
    elif default is not None:
        chosen = default
    else:
        chosen = str(counts.index[-1]) if entry["type"] == "category" else counts.index[-1]
        note = (
            f"target with classes {labels}; the positive class (what scores are the "
            f"probability of) is taken to be the rarer one, {chosen!r}: pass --positive to "
            "choose"
        )
    entry["positive"] = _positive(chosen, entry["type"])
    return entry, note


def _positive(chosen: Any, kind: str) -> Any:
    if kind == "bool":
        return str(chosen).lower() == "true"
    if kind == "int":
        return int(chosen)
    return str(chosen)


def describe_target(contract: DataContract, frame: pd.DataFrame) -> str:
    """One line for the inference report: the positive class and how common it is."""
    rate = float(encode_target(contract, frame[contract.target.name]).mean())
    return f"target; positive class {positive_label(contract)!r} ({rate:.1%} of rows)"


def starting_requirements(
    contract: DataContract, frame: pd.DataFrame
) -> tuple[dict[str, str], dict[str, Any], str]:
    """Step 1's goals, offline metrics and a comment on them, for a newly inferred table: a
    floor any useful model clears and a decision threshold at the positive rate."""
    rate = float(encode_target(contract, frame[contract.target.name]).mean())
    threshold = min(0.5, max(0.01, round(rate, 2)))
    output = output_meaning(contract)
    goals = {
        "business_goal": f"REVIEW: what acting on {output} changes, and for whom.",
        "ml_objective": f"Estimate {output} for each row of {contract.name}, well ranked and "
        "calibrated.",
    }
    offline = {
        "primary": "roc_auc",
        "higher_is_better": True,
        "decision_threshold": threshold,
        "min_improvement": 0.0001,
        "bootstrap_rounds": 500,
        "bootstrap_confidence": 0.95,
        "thresholds": {"roc_auc": {"min": 0.6}},
    }
    comment = (
        f"The decision threshold is the positive rate ({rate:.1%}); roc_auc >= 0.6 is a floor "
        "any useful model clears: raise it once you know what your data allows."
    )
    return goals, offline, comment
