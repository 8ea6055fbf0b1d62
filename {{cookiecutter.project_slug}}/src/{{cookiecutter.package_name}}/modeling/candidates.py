"""Candidate models, each a scikit-learn pipeline built from the data contract.

Preprocessing lives inside the pipeline (scaling numeric columns, one-hot encoding the
contract's categories), so training and serving apply exactly the same transformations.
Adding a candidate is one function and one line in `MODELS`.

scikit-learn is imported inside the builders: commands check `MODELS` for the configured name
before they start anything, and that check must not cost scikit-learn's import (~1 s).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pandas as pd

from ..contract import DataContract
from ..errors import ExpectedError

if TYPE_CHECKING:
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

ModelBuilder = Callable[[DataContract, int], "Pipeline"]


class UnknownModelError(ExpectedError, ValueError):
    """The settings name a model that is not in `MODELS`."""


def preprocessor(contract: DataContract) -> ColumnTransformer:
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    categorical = [contract.column(name) for name in contract.categorical_features]
    numeric = [contract.column(name) for name in contract.numeric_features]
    # Only columns the contract lets be null pay for an imputer (one more step per request).
    nullable = [column.name for column in numeric if column.nullable]
    return ColumnTransformer(
        [
            ("numeric", StandardScaler(), [c.name for c in numeric if not c.nullable]),
            (
                "numeric_nullable",
                make_pipeline(
                    SimpleImputer(strategy="median", add_indicator=True), StandardScaler()
                ),
                nullable,
            ),
            (
                "categorical",
                # Categories come from the contract, not from whichever batch is seen first;
                # a category the contract does not know maps to all zeros instead of failing.
                OneHotEncoder(
                    categories=[list(column.values or ()) for column in categorical],
                    handle_unknown="ignore",
                    sparse_output=False,
                ),
                [column.name for column in categorical],
            ),
        ],
        verbose_feature_names_out=False,
    )


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


def model_builder(name: str) -> ModelBuilder:
    """The candidate called `name`, or `UnknownModelError` listing the choices."""
    try:
        return MODELS[name]
    except KeyError:
        choices = ", ".join(sorted(MODELS))
        raise UnknownModelError(f"unknown model {name!r}: choose one of {choices}") from None


def build_model(name: str, contract: DataContract, seed: int = 42) -> Pipeline:
    return model_builder(name)(contract, seed)


def feature_frame(frame: pd.DataFrame, contract: DataContract) -> pd.DataFrame:
    """The contract's feature columns, in contract order: what every model is given (bools
    as 0/1 floats, a missing one as NaN)."""
    features = frame[[column.name for column in contract.features]]
    if contract.bool_features:
        features = features.astype(dict.fromkeys(contract.bool_features, "float64"))
    return features


def labels(frame: pd.DataFrame, contract: DataContract) -> pd.Series:
    """The target as 1 for the positive class and 0 otherwise: what models learn and are
    judged on, whatever the data calls its classes."""
    return contract.encode_target(frame[contract.target.name])


def fit_model(name: str, train: pd.DataFrame, contract: DataContract, seed: int = 42) -> Pipeline:
    """A fresh candidate `name`, fitted on the contract's features and target of `train`."""
    model = build_model(name, contract, seed)
    return model.fit(feature_frame(train, contract), labels(train, contract))


def predict_scores(model: Pipeline, frame: pd.DataFrame, contract: DataContract) -> pd.Series:
    """P(target = 1) for each row of `frame`, aligned with its index."""
    probabilities = model.predict_proba(feature_frame(frame, contract))[:, 1]
    return pd.Series(probabilities, index=frame.index, name="score")
