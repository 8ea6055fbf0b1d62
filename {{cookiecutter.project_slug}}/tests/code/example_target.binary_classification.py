"""The target column of the tables the inference tests make up: two classes, for binary
classification."""

from __future__ import annotations

import numpy as np

TARGET = "churned"


def target_values(rng: np.random.Generator, rows: int) -> np.ndarray:
    return rng.choice(["stayed", "left"], rows, p=[0.8, 0.2])
