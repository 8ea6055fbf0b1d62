"""The target of a ranking: what it may be, how it is encoded, how it is inferred.

A target is each candidate's relevance to its query: a grade (an int from 0, e.g. 0 ignored,
1 clicked, 2 registered) or a bool (relevant or not). Every row has one, and every row belongs
to a query, the contract's `group` column: candidates are only ever compared within their
group. Models are fitted and judged on the grade as an int. This file is the task's part of
step 2: another task's project has its own `target.py` instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..requirements.metrics import random_ndcg
from .prediction import OneScore
from .values import InferenceError, plain, require_complete

if TYPE_CHECKING:
    from .spec import DataContract

TASK = "ranking"
# What the service says a score is (the OpenAPI document's description of `score`).
SCORE_DESCRIPTION = (
    "The candidate's ranking score: higher ranks first; comparable within one query only"
)
# What the model answers per record (`prediction.py`).
PREDICTION = OneScore(SCORE_DESCRIPTION)
# Without a timestamp, the holdout is a random sample of whole groups of the newest batches.
STRATIFY_HOLDOUT = False
# Learning-to-rank models take grades from 0 up to this (LightGBM's default gain table).
MAX_GRADE = 30


def check_target(contract: DataContract) -> None:
    """Raise ValueError when the contract cannot be a ranking's: a grade and a group column."""
    target = contract.target
    if contract.group_column is None:
        raise ValueError(
            "a ranking contract needs a column with role: group (the query each candidate "
            "answers: a request, a session, a search; `contract infer --group COLUMN`)"
        )
    if target.type == "bool":
        return
    grades = target.values if target.values is not None else (target.min, target.max)
    if target.type != "int" or any(
        grade is None or not 0 <= float(grade) <= MAX_GRADE for grade in grades
    ):
        raise ValueError(
            f"the target {target.name} must be a relevance grade: an int column with `values` "
            f"or `min`/`max` within 0..{MAX_GRADE}, or a bool (a quantity to predict is a "
            "regression project: bake with problem_type=regression)"
        )
    if target.positive is not None:
        raise ValueError(f"the target {target.name} names a `positive` class: a grade has none")


def encode_target(contract: DataContract, values: pd.Series) -> pd.Series:
    """The grade as an int (a bool is 0 or 1): what models are fitted and judged on."""
    return values.astype("int64")


def output_meaning(contract: DataContract) -> str:
    """What a served score is, in words."""
    return f"how high a candidate ranks within its query for {contract.target.name}"


def infer_target(values: pd.Series, positive: str | None) -> tuple[dict[str, Any], str | None]:
    """The target's contract entry, and a note for the reviewer when a choice was guessed."""
    name = values.name
    if positive is not None:
        raise InferenceError(
            f"--positive names a class, and the relevance grade {name!r} has none: leave it out"
        )
    require_complete(values)
    if pd.api.types.is_bool_dtype(values):
        return {"role": "target", "type": "bool"}, None
    whole = pd.api.types.is_integer_dtype(values) or (
        pd.api.types.is_float_dtype(values) and bool((values == values.round()).all())
    )
    if not whole or values.min() < 0 or values.max() > MAX_GRADE:
        shown = ", ".join(repr(plain(value)) for value in values.drop_duplicates().head(3))
        raise InferenceError(
            f"the target {name!r} is not a relevance grade (whole numbers 0..{MAX_GRADE}; "
            f"seen {shown}): for a quantity, bake with problem_type=regression"
        )
    # A grade is at least 0 and at most MAX_GRADE: those are what must hold. The highest grade
    # seen is only expected: a scale's top grade can be rare enough to miss a first batch, and
    # a later batch that holds it is stored and reported, not refused.
    top = int(values.max())
    entry = {"role": "target", "type": "int", "min": 0, "max": MAX_GRADE}
    return entry | ({"expected": {"max": top}} if top < MAX_GRADE else {}), None


def describe_target(contract: DataContract, frame: pd.DataFrame) -> str:
    """One line for the inference report: how often each grade occurs."""
    values = encode_target(contract, frame[contract.target.name])
    shares = values.value_counts(normalize=True).sort_index()
    spread = ", ".join(f"{grade}: {share:.1%}" for grade, share in shares.items())
    return f"target; relevance grades ({spread})"


def starting_requirements(
    contract: DataContract, frame: pd.DataFrame
) -> tuple[dict[str, str], dict[str, Any], str]:
    """Step 1's goals, offline metrics and a comment on them, for a newly inferred table:
    NDCG@5 must beat ranking each query's candidates at random, the floor any model clears."""
    group = contract.group_column or ""
    labels = encode_target(contract, frame[contract.target.name])
    floor = random_ndcg(pd.factorize(frame[group])[0], labels.to_numpy(), k=5)
    bar = float(f"{floor:.2g}") if np.isfinite(floor) else 0.0
    goals = {
        "business_goal": f"REVIEW: what putting the best of each {group} first changes.",
        "ml_objective": f"Rank the candidates of each {group} of {contract.name} by "
        f"{contract.target.name}, the most relevant first.",
    }
    offline = {
        "primary": "ndcg_at_k",
        "higher_is_better": True,
        "k": 5,
        "min_improvement": 0.0,
        "bootstrap_rounds": 500,
        "bootstrap_confidence": 0.95,
        "thresholds": {"ndcg_at_k": {"min": bar}},
    }
    comment = (
        f"ndcg_at_k >= {bar:g} is what ranking each {group} at random scores: any useful model "
        "beats it; raise the bar once you know what your data allows."
    )
    return goals, offline, comment
