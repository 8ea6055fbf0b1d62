"""The worked example's columns by the part they play in the tests, so the same tests check the
project's own example: food deliveries (regression)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

TARGET = "delivery_minutes"
# A small int target the task accepts (its contract entry), for made-up tables.
INT_TARGET: dict[str, object] = {"type": "int", "values": [0, 1]}
# A target value the contract refuses, and the expectation that refuses it.
BAD_TARGET: tuple[object, str] = (-5.0, "expect_column_values_to_be_between")
ID = "order_id"
ID_PREFIX = "ord"
# What `contract infer` is told of the worked example beside its id and timestamp.
GROUP_ARGUMENT: dict[str, str] = {}
TIMESTAMP = "order_time"
HOUR = "hour_of_day"
INT_FEATURE = "items"  # an int with a range
FLOAT_FEATURE = "courier_rating"  # a float with a range
SHARE_FEATURE = "kitchen_load"  # a float in [0, 1]
SIGNAL = "distance_km"  # the score rises with it
CATEGORY = "vehicle"
CATEGORY_VALUES = ("bike", "scooter", "car")
UNKNOWN_VALUE = "hovercraft"  # not one of CATEGORY_VALUES
OTHER_CATEGORY = "weather"


def signal_response(scores: pd.Series | pd.DataFrame) -> pd.Series:
    """What rises with SIGNAL in the model's output: the score itself."""
    assert isinstance(scores, pd.Series)
    return scores


def noise_scores(rng: np.random.Generator, rows: int) -> np.ndarray:
    """Scores of a model that knows nothing, on the target's scale."""
    return rng.normal(40.0, 10.0, rows)


def oracle_scores(truth: np.ndarray) -> np.ndarray:
    """Predictions of a model that knows each outcome: the true values."""
    return truth.astype(float)


# One of the plots every training run logs.
TRAINING_PLOT = "predicted_vs_true.png"


def useless_estimator() -> Any:
    """A model that learns nothing from the features: the mean for everyone."""
    from sklearn.dummy import DummyRegressor

    return DummyRegressor(strategy="mean")


def weak_estimator() -> Any:
    """A model with real but weaker signal (given the categorical features only)."""
    from sklearn.linear_model import Ridge

    return Ridge()


# Where every served score lies: minutes, from nothing to the contract's longest delivery.
SCORE_RANGE = (0.0, 600.0)


def good_quality(metrics: dict[str, float]) -> bool:
    """Whether Evidently's quality of a labelled window is what the champion reaches."""
    return metrics["MAE"] < 4.0


# Words of the worked example that nothing written about a user's own data may hold.
EXAMPLE_WORDS = r"deliver|courier|restaurant|kitchen"
# The target a user's own table gets in the bring-your-own-data test, and what infer is told.
OWN_TARGET = "stay (days)"
OWN_INFER_ARGUMENTS: list[str] = []
OWN_OUTPUT = "the predicted stay (days)"  # how the model card names a score
# What the model card shows of the table's slices: a row of one of its categories.
OWN_SLICE = "| région | sud |"
# A column `contract infer` refuses as the target, and the reason it gives.
OWN_REFUSED_TARGET = "région"
OWN_REFUSAL = "is not a number"


def own_target(rng: np.random.Generator, signal: np.ndarray) -> np.ndarray:
    """Days in hospital, rising with the table's signal."""
    return np.round(np.exp(0.6 * signal) * rng.gamma(4.0, 1.0, len(signal)), 1)


def own_score_ok(score: float) -> bool:
    return bool(np.isfinite(score))


# A seed whose undrifted batch no drift test flags by chance against the training seed's batch
# (each column's test has a 5% false alarm rate at step 1's p-value; this one has none).
UNDRIFTED_SEED = 13


# What a made-up table of this task needs beside its features and target: the roles to name
# when inferring its contract, their contract entries, and their columns (none for this task).
ROLES: dict[str, str] = {}
ROLE_ENTRIES: list[dict[str, object]] = []


def role_columns(rows: int, seed: int) -> dict[str, list[str]]:
    return {}
