"""The worked example's columns by the part they play in the tests, so the same tests check the
project's own example: moderated posts (multiclass classification)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

TARGET = "verdict"
CLASSES = ("none", "spam", "harassment", "violence")
# A small int target the task accepts (its contract entry), for made-up tables.
INT_TARGET: dict[str, object] = {"type": "int", "values": [0, 1, 2]}
# A target value the contract refuses, and the expectation that refuses it.
BAD_TARGET: tuple[object, str] = ("scam", "expect_column_values_to_be_in_set")
ID = "post_id"
ID_PREFIX = "post"
# What `contract infer` is told of the worked example beside its id and timestamp.
GROUP_ARGUMENT: dict[str, str] = {}
TIMESTAMP = "posted_at"
HOUR = "hour_of_day"
INT_FEATURE = "author_prior_strikes"  # an int with a range
FLOAT_FEATURE = "toxicity_score"  # a float with a range
SHARE_FEATURE = "toxicity_score"  # a float in [0, 1]
SIGNAL = "toxicity_score"  # the probability of harassment rises with it
CATEGORY = "surface"
CATEGORY_VALUES = ("feed", "comment", "group", "direct_message")
UNKNOWN_VALUE = "livestream"  # not one of CATEGORY_VALUES
OTHER_CATEGORY = "language"


def signal_response(scores: pd.Series | pd.DataFrame) -> pd.Series:
    """What rises with SIGNAL in the model's output: the probability of harassment."""
    assert isinstance(scores, pd.DataFrame)
    return scores[CLASSES.index("harassment")]


def noise_scores(rng: np.random.Generator, rows: int) -> np.ndarray:
    """The output of a model that knows nothing: random probabilities over the classes, a row
    per record."""
    return np.asarray(rng.dirichlet(np.ones(len(CLASSES)), rows), dtype=float)


def oracle_scores(truth: np.ndarray) -> np.ndarray:
    """The output of a model that knows each outcome (the encoded target): certain."""
    certain: np.ndarray = np.eye(len(CLASSES))[truth.astype(int)]
    return certain


# One of the plots every training run logs.
TRAINING_PLOT = "confusion_matrix.png"


def useless_estimator() -> Any:
    """A model that learns nothing from the features: the class shares for everyone."""
    from sklearn.dummy import DummyClassifier

    return DummyClassifier(strategy="prior")


def weak_estimator() -> Any:
    """A model with real but weaker signal (given the categorical features only)."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression()


# Where every served score lies: the likeliest class's probability, at least 1 / classes.
SCORE_RANGE = (0.0, 1.0)


def good_quality(metrics: dict[str, float]) -> bool:
    """Whether Evidently's quality of a labelled window is what the champion reaches."""
    return metrics["F1Score"] > 0.5


# Words of the worked example that nothing written about a user's own data may hold.
EXAMPLE_WORDS = r"posted_at|toxicity|verdict|spam|harass|violen|moderat"  # not "post": an HTTP verb
# The target a user's own table gets in the bring-your-own-data test, and what infer is told.
OWN_TARGET = "diagnosis"
OWN_INFER_ARGUMENTS: list[str] = []
OWN_OUTPUT = "P(diagnosis = each of benign, malignant, uncertain)"  # how the model card names it
# What the model card shows of the table's slices: a row of one of its categories.
OWN_SLICE = "| région | sud |"
# A column `contract infer` refuses as the target, and the reason it gives.
OWN_REFUSED_TARGET = "mean radius"
OWN_REFUSAL = "too many to be classes"


def own_target(rng: np.random.Generator, signal: np.ndarray) -> np.ndarray:
    """Benign, uncertain or malignant, more often malignant (and less often benign) as the
    table's signal rises."""
    logits = np.column_stack([-signal, np.zeros(len(signal)) - 0.5, signal])
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    drawn = (rng.random(len(signal))[:, None] > probabilities.cumsum(axis=1)).sum(axis=1)
    classes: np.ndarray = np.asarray(["benign", "uncertain", "malignant"])[np.minimum(drawn, 2)]
    return classes


def own_score_ok(score: float) -> bool:
    return 1 / 3 <= score <= 1.0


# A seed whose undrifted batch no drift test flags by chance against the training seed's batch
# (each column's test has a 5% false alarm rate at step 1's p-value; this one has none).
UNDRIFTED_SEED = 8


# What a made-up table of this task needs beside its features and target: the roles to name
# when inferring its contract, their contract entries, and their columns (none for this task).
ROLES: dict[str, str] = {}
ROLE_ENTRIES: list[dict[str, object]] = []


def role_columns(rows: int, seed: int) -> dict[str, list[str]]:
    return {}
