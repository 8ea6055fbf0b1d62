"""Step 3: the generator gives a learnable delivery time and the drift it promises."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.data.synthetic import (
    DRIFTED_TIME_MODEL,
    expected_minutes,
    expected_target,
    generate_batch,
)

ROWS = 20_000
TARGET = "delivery_minutes"


def mae(truth: pd.Series, predicted: np.ndarray) -> float:
    return float(np.abs(truth.to_numpy() - predicted).mean())


def test_same_seed_same_batch() -> None:
    pd.testing.assert_frame_equal(generate_batch(500, seed=3), generate_batch(500, seed=3))
    assert not generate_batch(500, seed=3).equals(generate_batch(500, seed=4))


def test_target_is_positive_and_learnable() -> None:
    batch = generate_batch(ROWS, seed=1)
    assert (batch[TARGET] > 0).all() and 25 < batch[TARGET].mean() < 60
    # The true expected time is far better than always guessing the median.
    guess = mae(batch[TARGET], np.full(ROWS, batch[TARGET].median()))
    assert mae(batch[TARGET], expected_target(batch)) < 0.4 * guess


def test_covariate_shift_moves_features_not_the_concept() -> None:
    base = generate_batch(ROWS, seed=1)
    shifted = generate_batch(ROWS, seed=1, drift="covariate")
    assert shifted["distance_km"].mean() > 1.4 * base["distance_km"].mean()
    assert shifted["items"].mean() > base["items"].mean() + 1.5
    assert shifted["kitchen_load"].mean() > base["kitchen_load"].mean() + 0.2
    assert shifted["weather"].ne("clear").mean() > base["weather"].ne("clear").mean() + 0.2
    assert shifted["vehicle"].eq("car").mean() > base["vehicle"].eq("car").mean() + 0.2
    # The time model is unchanged, so the expected time still predicts well.
    assert mae(shifted[TARGET], expected_target(shifted)) < 3.0


def test_concept_drift_keeps_features_and_breaks_the_old_signal() -> None:
    base = generate_batch(ROWS, seed=1)
    drifted = generate_batch(ROWS, seed=1, drift="concept")
    features = [c for c in base.columns if c not in ("order_id", TARGET)]
    pd.testing.assert_frame_equal(base[features], drifted[features])
    assert mae(drifted[TARGET], expected_target(drifted)) > 3 * mae(
        base[TARGET], expected_target(base)
    )
    noise_mean = 2.0 * DRIFTED_TIME_MODEL.noise_scale
    assert mae(drifted[TARGET], expected_minutes(drifted, DRIFTED_TIME_MODEL) + noise_mean) < 3.0


def test_time_features_agree_with_the_timestamp() -> None:
    batch = generate_batch(1_000, seed=2)
    assert (batch["hour_of_day"] == batch["order_time"].dt.hour).all()
    assert (batch["day_of_week"] == batch["order_time"].dt.dayofweek).all()
    assert batch["order_id"].is_unique


def test_rows_must_be_positive() -> None:
    with pytest.raises(ValueError, match="rows must be positive"):
        generate_batch(0)
