"""The worked example's columns by the part they play in the tests, so the same tests check the
project's own example: food deliveries (regression)."""

from __future__ import annotations

import numpy as np

TARGET = "delivery_minutes"
# A target value the contract refuses, and the expectation that refuses it.
BAD_TARGET: tuple[object, str] = (-5.0, "expect_column_values_to_be_between")
ID = "order_id"
ID_PREFIX = "ord"
TIMESTAMP = "order_time"
HOUR = "hour_of_day"
INT_FEATURE = "items"  # an int with a range
FLOAT_FEATURE = "courier_rating"  # a float with a range
SHARE_FEATURE = "kitchen_load"  # a float in [0, 1]
SIGNAL = "distance_km"  # the score rises with it
CATEGORY = "vehicle"
CATEGORY_VALUES = ("bike", "scooter", "car")
UNKNOWN_VALUE = "hovercraft"  # not one of CATEGORY_VALUES
OTHER_CATEGORY = "weather"
# The features the generator's covariate drift moves.
COVARIATE_SHIFTED = ("items", "kitchen_load", "distance_km", "vehicle", "weather")


def noise_scores(rng: np.random.Generator, rows: int) -> np.ndarray:
    """Scores of a model that knows nothing, on the target's scale."""
    return rng.normal(40.0, 10.0, rows)
