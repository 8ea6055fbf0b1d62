"""The target column of the tables the inference tests make up: three classes, for multiclass
classification."""

from __future__ import annotations

import numpy as np

TARGET = "plan chosen"


def target_values(rng: np.random.Generator, rows: int) -> np.ndarray:
    return rng.choice(["free", "plus", "pro"], rows, p=[0.6, 0.3, 0.1])
