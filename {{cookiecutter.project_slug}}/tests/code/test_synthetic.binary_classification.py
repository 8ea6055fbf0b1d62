"""Step 3: the generator gives a learnable, imbalanced target and the drift it promises."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.data.synthetic import (
    DRIFTED_CLICK_MODEL,
    click_log_odds,
    generate_batch,
)

ROWS = 20_000


def roc_auc(labels: pd.Series, scores: np.ndarray) -> float:
    """Mann-Whitney estimate of ROC-AUC, so this test needs no ML library."""
    ranks = pd.Series(scores).rank().to_numpy()
    positives = labels.to_numpy() == 1
    n_pos, n_neg = positives.sum(), (~positives).sum()
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def test_same_seed_same_batch() -> None:
    pd.testing.assert_frame_equal(generate_batch(500, seed=3), generate_batch(500, seed=3))
    assert not generate_batch(500, seed=3).equals(generate_batch(500, seed=4))


def test_target_is_imbalanced_and_learnable() -> None:
    batch = generate_batch(ROWS, seed=1)
    assert 0.04 < batch["clicked"].mean() < 0.20
    assert roc_auc(batch["clicked"], click_log_odds(batch)) > 0.75


def test_covariate_shift_moves_features_not_the_concept() -> None:
    base = generate_batch(ROWS, seed=1)
    shifted = generate_batch(ROWS, seed=1, drift="covariate")
    assert shifted["device"].eq("mobile").mean() > base["device"].eq("mobile").mean() + 0.15
    assert shifted["user_past_ctr"].mean() > 1.3 * base["user_past_ctr"].mean()
    assert shifted["ad_relevance"].mean() > base["ad_relevance"].mean() + 0.05
    assert shifted["user_age"].mean() < base["user_age"].mean() - 5
    # The click model is unchanged, so the true log-odds still rank clicks well.
    assert roc_auc(shifted["clicked"], click_log_odds(shifted)) > 0.7


def test_concept_drift_keeps_features_and_breaks_the_old_signal() -> None:
    base = generate_batch(ROWS, seed=1)
    drifted = generate_batch(ROWS, seed=1, drift="concept")
    features = [c for c in base.columns if c not in ("impression_id", "clicked")]
    pd.testing.assert_frame_equal(base[features], drifted[features])
    assert roc_auc(drifted["clicked"], click_log_odds(drifted)) < 0.65
    assert roc_auc(drifted["clicked"], click_log_odds(drifted, DRIFTED_CLICK_MODEL)) > 0.6


def test_time_features_agree_with_the_timestamp() -> None:
    batch = generate_batch(1_000, seed=2)
    assert (batch["hour_of_day"] == batch["event_time"].dt.hour).all()
    assert (batch["day_of_week"] == batch["event_time"].dt.dayofweek).all()
    assert batch["impression_id"].is_unique


def test_rows_must_be_positive() -> None:
    with pytest.raises(ValueError, match="rows must be positive"):
        generate_batch(0)
