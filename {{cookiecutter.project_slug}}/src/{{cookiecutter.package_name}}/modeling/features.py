"""What every candidate is given: the contract's features, preprocessed inside the pipeline, and
the target as the task encodes it.

Preprocessing lives inside the pipeline (scaling numeric columns, one-hot encoding the
contract's categories), so training and serving apply exactly the same transformations.
scikit-learn is imported inside `preprocessor`: commands that only check a model's name must not
pay for its import (~1 s).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..contract import DataContract

if TYPE_CHECKING:
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

# What every candidate is: a function of the contract and a seed, returning an unfitted pipeline.
ModelBuilder = Callable[[DataContract, int], "Pipeline"]


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


def feature_frame(frame: pd.DataFrame, contract: DataContract) -> pd.DataFrame:
    """The contract's feature columns, in contract order: what every model is given (bools
    as 0/1 floats, a missing one as NaN)."""
    features = frame[[column.name for column in contract.features]]
    if contract.bool_features:
        features = features.astype(dict.fromkeys(contract.bool_features, "float64"))
    return features


def groups(frame: pd.DataFrame, contract: DataContract) -> np.ndarray | None:
    """Each row's group (its query) as a code from 0, or None when the contract has no group
    column: a ranking is judged group by group."""
    group = contract.group_column
    return None if group is None else pd.factorize(frame[group])[0]


def labels(frame: pd.DataFrame, contract: DataContract) -> pd.Series:
    """The target as the task encodes it: what models learn and are judged on, whatever the
    data calls its values."""
    return contract.encode_target(frame[contract.target.name])
