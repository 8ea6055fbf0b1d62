"""Candidate multiclass classifiers, each a scikit-learn pipeline built from the data contract:
the shared preprocessing (`features.py`) followed by the model. Adding a candidate is one
function and one line in `MODELS`.

Class imbalance: step 1 judges on macro F1, where a rare harm counts as much as spam, and the
holdout keeps every class's share. Weighting rare classes up (`class_weight="balanced"`) was
measured on the worked example (`bench/candidates.py`, the table in this step's README): it
raises macro recall (0.73 to 0.84 for boosting) and lowers macro F1 (0.735 to 0.703) and log
loss, because the predicted class is the argmax of probabilities that then lean to the rare
classes. So the candidates fit unweighted by default (`CLASS_WEIGHT`), and a parameter search
(`MLSD_SEARCH_TRIALS`) tries both and keeps what macro F1 prefers on your data.

scikit-learn is imported inside the builders: commands check `MODELS` for the configured name
before they start anything, and that check must not cost scikit-learn's import (~1 s).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
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
# How rare classes are weighed in training (see above): None, or "balanced".
CLASS_WEIGHT: str | None = None


def logistic_regression(contract: DataContract, seed: int) -> Pipeline:
    """The baseline: a multinomial logistic regression, linear in the features, fast."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    return Pipeline(
        [
            ("features", preprocessor(contract)),
            (
                "model",
                LogisticRegression(max_iter=1_000, class_weight=CLASS_WEIGHT, random_state=seed),
            ),
        ]
    )


def gradient_boosting(contract: DataContract, seed: int) -> Pipeline:
    """The stronger candidate: captures interactions and non-linear effects, a tree per class
    each iteration."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline

    return Pipeline(
        [
            ("features", preprocessor(contract)),
            (
                "model",
                HistGradientBoostingClassifier(
                    max_iter=150,
                    learning_rate=0.08,
                    max_leaf_nodes=15,
                    min_samples_leaf=50,
                    l2_regularization=1.0,
                    class_weight=CLASS_WEIGHT,
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
    "logistic_regression": {
        "model__C": [0.1, 0.3, 1.0, 3.0, 10.0],
        "model__class_weight": [None, "balanced"],
    },
    "gradient_boosting": {
        "model__class_weight": [None, "balanced"],
        "model__learning_rate": [0.05, 0.08, 0.15],
        "model__max_leaf_nodes": [7, 15, 31],
        "model__min_samples_leaf": [20, 50, 100],
        "model__l2_regularization": [0.0, 1.0],
    },
}


def predict_scores(model: Pipeline, frame: pd.DataFrame, contract: DataContract) -> pd.DataFrame:
    """P(each class) for each row of `frame`: a column per class of the contract, in its order,
    aligned with the rows. A class the model never saw in training gets probability 0."""
    fitted = model.predict_proba(feature_frame(frame, contract))
    classes = len(contract.target.labels)
    probabilities = np.zeros((len(frame), classes))
    probabilities[:, np.asarray(model.classes_, dtype=int)] = fitted
    return pd.DataFrame(probabilities, index=frame.index, columns=list(range(classes)))


# The simple model every other candidate must beat (what `make train MODEL=…` compares with).
BASELINE = "logistic_regression"
# What training fits unless MLSD_MODEL_NAME names another candidate.
DEFAULT_MODEL = "gradient_boosting"
