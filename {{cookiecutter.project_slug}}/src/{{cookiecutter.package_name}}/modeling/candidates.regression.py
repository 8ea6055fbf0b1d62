"""Candidate regressors, each a scikit-learn pipeline built from the data contract: the shared
preprocessing (`features.py`) followed by the model. Adding a candidate is one function and one
line in `MODELS`.

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

# What the registry's generic (pyfunc) model calls: the predicted value.
PREDICT_METHOD = "predict"

# What the logged models hold beyond scikit-learn (see the registry): no package that loading
# them needs, and no type skops must be told to trust.
MODEL_PACKAGES: tuple[str, ...] = ()
TRUSTED_TYPES: tuple[str, ...] = ()


def ridge(contract: DataContract, seed: int) -> Pipeline:
    """The baseline: linear in the features, regularised, fast and easy to explain."""
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import Pipeline

    return Pipeline([("features", preprocessor(contract)), ("model", Ridge(alpha=1.0))])


def gradient_boosting(contract: DataContract, seed: int) -> Pipeline:
    """The stronger candidate: captures interactions and non-linear effects."""
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.pipeline import Pipeline

    return Pipeline(
        [
            ("features", preprocessor(contract)),
            (
                "model",
                # Absolute error: step 1 judges the mean absolute error, whose best constant is
                # the median, and a few very late deliveries should not pull every prediction.
                HistGradientBoostingRegressor(
                    loss="absolute_error",
                    max_iter=300,
                    learning_rate=0.1,
                    max_leaf_nodes=31,
                    min_samples_leaf=50,
                    early_stopping=False,  # deterministic: the same data gives the same model
                    random_state=seed,
                ),
            ),
        ]
    )


MODELS: dict[str, ModelBuilder] = {
    "ridge": ridge,
    "gradient_boosting": gradient_boosting,
}

# What `MLSD_SEARCH_TRIALS` may try for each candidate (pipeline parameter names, values to
# sample from); the values the builders set are among them.
SEARCH_SPACES: dict[str, dict[str, list[object]]] = {
    "ridge": {"model__alpha": [0.1, 0.3, 1.0, 3.0, 10.0]},
    "gradient_boosting": {
        "model__learning_rate": [0.05, 0.1, 0.2],
        "model__max_leaf_nodes": [15, 31, 63],
        "model__min_samples_leaf": [20, 50, 100],
    },
}


def predict_scores(model: Pipeline, frame: pd.DataFrame, contract: DataContract) -> pd.Series:
    """The predicted target for each row of `frame`, aligned with its index."""
    predictions = model.predict(feature_frame(frame, contract))
    return pd.Series(predictions, index=frame.index, name="score", dtype="float64")


# The simple model every other candidate must beat (what `make train MODEL=…` compares with).
BASELINE = "ridge"
# What training fits unless MLSD_MODEL_NAME names another candidate.
DEFAULT_MODEL = "gradient_boosting"
