"""Candidate rankers, each a scikit-learn pipeline built from the data contract: the shared
preprocessing (`features.py`) followed by the model. Adding a candidate is one function and one
line in `MODELS`.

A model whose `fit` takes `group` learns from each query's candidates against each other
(`selection.fit_model` hands it the groups); any other model is pointwise, fitted on each row's
grade alone. Scores order candidates within a query and mean nothing across queries.

scikit-learn and LightGBM are imported inside the builders: commands check `MODELS` for the
configured name before they start anything, and that check must not cost their import (~1 s).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from ..contract import DataContract
from .features import ModelBuilder, feature_frame, preprocessor

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

# What the registry's generic (pyfunc) model calls: one score per row.
PREDICT_METHOD = "predict"
# What the logged models hold beyond scikit-learn: packages that loading them needs (pinned in
# the model's requirements), and types skops may load back (it refuses any it was not told to
# trust). Reviewed: LightGBM's ranker, the booster it holds (kept in LightGBM's own text model
# format) and the ordered dict of its parameters.
MODEL_PACKAGES = ("lightgbm",)
TRUSTED_TYPES = ("lightgbm.sklearn.LGBMRanker", "lightgbm.basic.Booster", "collections.OrderedDict")


def pointwise_ridge(contract: DataContract, seed: int) -> Pipeline:
    """The baseline: a linear score of the features, fitted to each row's grade on its own."""
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import Pipeline

    return Pipeline([("features", preprocessor(contract)), ("model", Ridge(alpha=1.0))])


def lambdarank(contract: DataContract, seed: int) -> Pipeline:
    """The learning-to-rank candidate: LightGBM's LambdaMART, trained to put each query's
    most relevant candidates first (it optimises NDCG directly), with trees that capture the
    interactions (a city's taste for a category) a linear score cannot."""
    from lightgbm import LGBMRanker
    from sklearn.pipeline import Pipeline

    return Pipeline(
        [
            ("features", preprocessor(contract)),
            (
                "model",
                LGBMRanker(
                    objective="lambdarank",
                    n_estimators=200,
                    learning_rate=0.05,
                    num_leaves=15,
                    min_child_samples=50,
                    subsample=1.0,
                    colsample_bytree=1.0,
                    random_state=seed,
                    n_jobs=1,  # deterministic, and the service's one worker keeps one core
                    verbose=-1,
                ),
            ),
        ]
    )


MODELS: dict[str, ModelBuilder] = {
    "pointwise_ridge": pointwise_ridge,
    # Gradient-boosted trees, as the other tasks' candidate is: here with a ranking objective.
    "gradient_boosting": lambdarank,
}

# What `MLSD_SEARCH_TRIALS` may try for each candidate (pipeline parameter names, values to
# sample from); the values the builders set are among them.
SEARCH_SPACES: dict[str, dict[str, list[object]]] = {
    "pointwise_ridge": {"model__alpha": [0.1, 0.3, 1.0, 3.0, 10.0]},
    "gradient_boosting": {
        "model__learning_rate": [0.03, 0.05, 0.1],
        "model__num_leaves": [7, 15, 31],
        "model__min_child_samples": [20, 50, 100],
    },
}


def predict_scores(model: Pipeline, frame: pd.DataFrame, contract: DataContract) -> pd.Series:
    """Each row's ranking score, aligned with the index of `frame`."""
    scores = model.predict(feature_frame(frame, contract))
    return pd.Series(scores, index=frame.index, name="score", dtype="float64")


# The simple model every other candidate must beat (what `make train MODEL=…` compares with).
BASELINE = "pointwise_ridge"
# What training fits unless MLSD_MODEL_NAME names another candidate.
DEFAULT_MODEL = "gradient_boosting"
