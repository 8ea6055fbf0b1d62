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
    """Each feature's encoding (`contract/column_types.py`), as one transformer."""
    from sklearn.compose import ColumnTransformer

    blocks = [
        block for encoding, columns in contract.encoded() for block in encoding.blocks(columns)
    ]
    return ColumnTransformer(blocks, verbose_feature_names_out=False)


def feature_frame(frame: pd.DataFrame, contract: DataContract) -> pd.DataFrame:
    """The contract's feature columns, in contract order, as their types give them to every
    model (bools as 0/1 floats, a missing one as NaN)."""
    features = frame[[column.name for column in contract.features]]
    cast = {c.name: c.definition.model_dtype for c in contract.features if c.definition.model_dtype}
    return features.astype(cast) if cast else features


def groups(frame: pd.DataFrame, contract: DataContract) -> np.ndarray | None:
    """Each row's group (its query) as a code from 0, or None when the contract has no group
    column: a ranking is judged group by group."""
    group = contract.group_column
    return None if group is None else pd.factorize(frame[group])[0]


def labels(frame: pd.DataFrame, contract: DataContract) -> pd.Series:
    """The target as the task encodes it: what models learn and are judged on, whatever the
    data calls its values."""
    return contract.encode_target(frame[contract.target.name])
