"""The target column of the tables the inference tests make up: a quantity, for regression."""

from __future__ import annotations

import numpy as np

TARGET = "monthly spend (€)"


def target_values(rng: np.random.Generator, rows: int) -> np.ndarray:
    return rng.gamma(2.0, 30.0, rows).round(2)
