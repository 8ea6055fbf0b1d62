"""Candidate classifiers, each a scikit-learn pipeline built from the data contract: the
shared preprocessing (`features.py`) followed by the model. Adding a candidate is one function
and one line in `MODELS`.

scikit-learn is imported inside the builders: commands check `MODELS` for the configured name
before they start anything, and that check must not cost scikit-learn's import (~1 s).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from ..contract import DataContract
from .features import ModelBuilder, feature_frame, preprocessor

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

# What the registry's generic (pyfunc) model calls: the probability of each class.
PREDICT_METHOD = "predict_proba"

# What the logged models hold beyond scikit-learn (see the registry): no package that loading
# them needs, and no type skops must be told to trust.
MODEL_PACKAGES: tuple[str, ...] = ()
TRUSTED_TYPES: tuple[str, ...] = ()


def logistic_regression(contract: DataContract, seed: int) -> Pipeline:
    """The baseline: linear in the features, fast, calibrated by construction."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    return Pipeline(
        [
            ("features", preprocessor(contract)),
            ("model", LogisticRegression(max_iter=1_000, random_state=seed)),
        ]
    )


def gradient_boosting(contract: DataContract, seed: int) -> Pipeline:
    """The stronger candidate: captures interactions and non-linear effects."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline

    return Pipeline(
        [
            ("features", preprocessor(contract)),
            (
                "model",
                # Small trees, a slow learning rate and large leaves: clicks are rare and noisy,
                # and deeper trees overfit them (worse log loss and calibration).
                HistGradientBoostingClassifier(
                    max_iter=200,
                    learning_rate=0.05,
                    max_leaf_nodes=15,
                    min_samples_leaf=100,
                    l2_regularization=1.0,
                    early_stopping=False,  # deterministic: the same data gives the same model
                    random_state=seed,
                ),
            ),
        ]
    )


MODELS: dict[str, ModelBuilder] = {
    "logistic_regression": logistic_regression,
    "gradient_boosting": gradient_boosting,
}

# What `MLSD_SEARCH_TRIALS` may try for each candidate (pipeline parameter names, values to
# sample from); the values the builders set are among them.
SEARCH_SPACES: dict[str, dict[str, list[object]]] = {
    "logistic_regression": {"model__C": [0.1, 0.3, 1.0, 3.0, 10.0]},
    "gradient_boosting": {
        "model__learning_rate": [0.03, 0.05, 0.1],
        "model__max_leaf_nodes": [7, 15, 31],
        "model__min_samples_leaf": [50, 100, 200],
        "model__l2_regularization": [0.0, 1.0],
    },
}


def predict_scores(model: Pipeline, frame: pd.DataFrame, contract: DataContract) -> pd.Series:
    """P(target = 1) for each row of `frame`, aligned with its index."""
    probabilities = model.predict_proba(feature_frame(frame, contract))[:, 1]
    return pd.Series(probabilities, index=frame.index, name="score")


# The simple model every other candidate must beat (what `make train MODEL=…` compares with).
BASELINE = "logistic_regression"
# What training fits unless MLSD_MODEL_NAME names another candidate.
DEFAULT_MODEL = "gradient_boosting"
