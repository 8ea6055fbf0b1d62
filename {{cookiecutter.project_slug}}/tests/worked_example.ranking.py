"""The worked example's columns by the part they play in the tests, so the same tests check the
project's own example: event recommendations (ranking)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

TARGET = "relevance"
# A small int target the task accepts (its contract entry), for made-up tables.
INT_TARGET: dict[str, object] = {"type": "int", "values": [0, 1]}
# A target value the contract refuses, and the expectation that refuses it.
BAD_TARGET: tuple[object, str] = (7, "expect_column_values_to_be_in_set")
ID = "impression_id"
ID_PREFIX = "imp"
GROUP = "request_id"
# What `contract infer` is told of the worked example beside its id and timestamp.
GROUP_ARGUMENT: dict[str, str] = {"group": GROUP}
TIMESTAMP = "event_time"
HOUR = "hour_of_day"
INT_FEATURE = "days_until"  # an int with a range
FLOAT_FEATURE = "price"  # a float with a range
SHARE_FEATURE = "popularity"  # a float in [0, 1]
SIGNAL = "popularity"  # the score rises with it
CATEGORY = "event_category"
CATEGORY_VALUES = ("music", "sports", "food", "tech", "arts")
UNKNOWN_VALUE = "opera"  # not one of CATEGORY_VALUES
OTHER_CATEGORY = "device"


def signal_response(scores: pd.Series | pd.DataFrame) -> pd.Series:
    """What rises with SIGNAL in the model's output: the score itself."""
    assert isinstance(scores, pd.Series)
    return scores


def noise_scores(rng: np.random.Generator, rows: int) -> np.ndarray:
    """Scores of a model that knows nothing: a random order."""
    return rng.normal(0.0, 1.0, rows)


def oracle_scores(truth: np.ndarray) -> np.ndarray:
    """Scores of a model that knows each grade: far below, within and far above the noise."""
    return (truth.astype(float) - 1.0) * 10.0


# One of the plots every training run logs.
TRAINING_PLOT = "ndcg_by_cutoff.png"


def useless_estimator() -> Any:
    """A model that learns nothing from the features: the same score for everyone."""
    from sklearn.dummy import DummyRegressor

    return DummyRegressor(strategy="mean")


def weak_estimator() -> Any:
    """A model with real but weaker signal (a pointwise linear score)."""
    from sklearn.linear_model import Ridge

    return Ridge()


# Where every served score lies: LambdaMART's scores are unbounded, but small.
SCORE_RANGE = (-50.0, 50.0)


def good_quality(metrics: dict[str, float]) -> bool:
    """Whether Evidently's quality of a labelled window is what the champion reaches."""
    return metrics["NDCG"] > 0.4


# Words of the worked example that nothing written about a user's own data may hold.
EXAMPLE_WORDS = r"event|impression|feed|venue"
# The target a user's own table gets in the bring-your-own-data test, and what infer is told.
OWN_TARGET = "rating (0-3)"
OWN_INFER_ARGUMENTS: list[str] = ["--group", "visit"]  # see ROLES
OWN_OUTPUT = "how high a candidate ranks within its query for rating (0-3)"  # the card's words
# What the model card shows of the table's slices (a ranking slices only by a feature that
# holds one value per query, and this table has none).
OWN_SLICE = "no segments of queries to slice by"
# A column `contract infer` refuses as the target, and the reason it gives.
OWN_REFUSED_TARGET = "région"
OWN_REFUSAL = "is not a relevance grade"


def own_target(rng: np.random.Generator, signal: np.ndarray) -> np.ndarray:
    """A 0-3 rating, rising with the table's signal."""
    return np.clip(np.round(signal / 2 + rng.normal(0, 0.7, len(signal))), 0, 3).astype(int)


def own_score_ok(score: float) -> bool:
    return bool(np.isfinite(score))


# A seed whose undrifted batch no drift test flags by chance against the training seed's batch
# (each column's test has a 5% false alarm rate at step 1's p-value; this one has none).
UNDRIFTED_SEED = 13


# What a made-up table of this task needs beside its features and target: the roles to name
# when inferring its contract, their contract entries, and their columns (a ranking's query:
# ten rows to a visit, named apart for each seed so two tables never share one).
ROLES: dict[str, str] = {"group": "visit"}
ROLE_ENTRIES: list[dict[str, object]] = [{"name": "visit", "type": "string", "role": "group"}]


def role_columns(rows: int, seed: int) -> dict[str, list[str]]:
    return {"visit": [f"v{seed}-{row // 10}" for row in range(rows)]}
