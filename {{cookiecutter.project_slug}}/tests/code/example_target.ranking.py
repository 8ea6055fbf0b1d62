"""The target column of the tables the inference tests make up: a relevance grade, for ranking."""

from __future__ import annotations

import numpy as np

TARGET = "stars given"


def target_values(rng: np.random.Generator, rows: int) -> np.ndarray:
    return rng.integers(0, 4, rows)
