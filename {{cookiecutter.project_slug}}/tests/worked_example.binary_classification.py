"""The worked example's columns by the part they play in the tests, so the same tests check the
project's own example: ad impressions (binary classification)."""

from __future__ import annotations

import numpy as np

TARGET = "clicked"
# A target value the contract refuses, and the expectation that refuses it.
BAD_TARGET: tuple[object, str] = (2, "expect_column_values_to_be_in_set")
ID = "impression_id"
ID_PREFIX = "imp"
TIMESTAMP = "event_time"
HOUR = "hour_of_day"
INT_FEATURE = "user_age"  # an int with a range
FLOAT_FEATURE = "bid_price"  # a float with a range
SHARE_FEATURE = "user_past_ctr"  # a float in [0, 1]
SIGNAL = "ad_relevance"  # the score rises with it
CATEGORY = "device"
CATEGORY_VALUES = ("mobile", "desktop", "tablet")
UNKNOWN_VALUE = "smartwatch"  # not one of CATEGORY_VALUES
OTHER_CATEGORY = "ad_position"
# The features the generator's covariate drift moves.
COVARIATE_SHIFTED = ("device", "user_age", "user_past_ctr", "ad_relevance", "bid_price")


def noise_scores(rng: np.random.Generator, rows: int) -> np.ndarray:
    """Scores of a model that knows nothing, on the target's scale."""
    return rng.beta(1, 9, rows)
