"""The worked example's columns by the part they play in the tests, so the same tests check the
project's own example: ad impressions (binary classification)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

TARGET = "clicked"
# A small int target the task accepts (its contract entry), for made-up tables.
INT_TARGET: dict[str, object] = {"type": "int", "values": [0, 1]}
# A target value the contract refuses, and the expectation that refuses it.
BAD_TARGET: tuple[object, str] = (2, "expect_column_values_to_be_in_set")
ID = "impression_id"
ID_PREFIX = "imp"
# What `contract infer` is told of the worked example beside its id and timestamp.
GROUP_ARGUMENT: dict[str, str] = {}
TIMESTAMP = "event_time"
HOUR = "hour_of_day"
INT_FEATURE = "user_age"  # an int with a range
FLOAT_FEATURE = "bid_price"  # a float with a range
SHARE_FEATURE = "user_past_ctr"  # a float in [0, 1]
SIGNAL = "ad_relevance"  # the score rises with it
CATEGORY = "device"
CATEGORY_VALUES = ("mobile", "desktop", "tablet")
UNKNOWN_VALUE = "smartwatch"  # not one of CATEGORY_VALUES
OTHER_CATEGORY = "ad_position"


def signal_response(scores: pd.Series | pd.DataFrame) -> pd.Series:
    """What rises with SIGNAL in the model's output: the score itself."""
    assert isinstance(scores, pd.Series)
    return scores


def noise_scores(rng: np.random.Generator, rows: int) -> np.ndarray:
    """Scores of a model that knows nothing, on the target's scale."""
    return rng.beta(1, 9, rows)


def oracle_scores(truth: np.ndarray) -> np.ndarray:
    """Scores of a model that knows each outcome (the encoded target): certain probabilities."""
    return truth.astype(float)


# One of the plots every training run logs.
TRAINING_PLOT = "roc_curve.png"


def useless_estimator() -> Any:
    """A model that learns nothing from the features: the base rate for everyone."""
    from sklearn.dummy import DummyClassifier

    return DummyClassifier(strategy="prior")


def weak_estimator() -> Any:
    """A model with real but weaker signal (given the categorical features only)."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression()


# Where every served score lies: a probability.
SCORE_RANGE = (0.0, 1.0)


def good_quality(metrics: dict[str, float]) -> bool:
    """Whether Evidently's quality of a labelled window is what the champion reaches."""
    return metrics["RocAuc"] > 0.7


# Words of the worked example that nothing written about a user's own data may hold.
EXAMPLE_WORDS = r"click|impression|\bads?\b|\bbids?\b"
# The target a user's own table gets in the bring-your-own-data test, and what infer is told.
OWN_TARGET = "diagnosis"
OWN_INFER_ARGUMENTS = ["--positive", "malignant"]
OWN_OUTPUT = "P(diagnosis = malignant)"  # how the model card names a score
# What the model card shows of the table's slices: a row of one of its categories.
OWN_SLICE = "| région | sud |"
# A column `contract infer` refuses as the target, and the reason it gives.
OWN_REFUSED_TARGET = "région"
OWN_REFUSAL = "has 4 classes"


def own_target(rng: np.random.Generator, signal: np.ndarray) -> np.ndarray:
    """Malignant or benign, more often malignant as the table's signal (log-odds) rises."""
    malignant = rng.random(len(signal)) < 1 / (1 + np.exp(-signal))
    return np.where(malignant, "malignant", "benign")


def own_score_ok(score: float) -> bool:
    return 0.0 <= score <= 1.0


# A seed whose undrifted batch no drift test flags by chance against the training seed's batch
# (each column's test has a 5% false alarm rate at step 1's p-value; this one has none).
UNDRIFTED_SEED = 8


# What a made-up table of this task needs beside its features and target: the roles to name
# when inferring its contract, their contract entries, and their columns (none for this task).
ROLES: dict[str, str] = {}
ROLE_ENTRIES: list[dict[str, object]] = []


def role_columns(rows: int, seed: int) -> dict[str, list[str]]:
    return {}
