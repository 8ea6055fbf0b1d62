"""Step 3: the generator gives whole feed requests with a learnable relevance, and the drift it
promises."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.data.synthetic import (
    CANDIDATES_PER_REQUEST,
    DRIFTED_APPEAL,
    appeal_logit,
    expected_target,
    generate_batch,
)
from {{ cookiecutter.package_name }}.requirements.metrics import per_group

ROWS = 20_000
TARGET, GROUP = "relevance", "request_id"
QUERY_LEVEL = ["event_time", "hour_of_day", "city", "device"]


def ndcg(batch: pd.DataFrame, scores: np.ndarray) -> float:
    values = per_group(batch[GROUP], batch[TARGET], scores, k=5)["ndcg_at_k"]
    return float(np.nanmean(values))


def test_same_seed_same_batch() -> None:
    pd.testing.assert_frame_equal(generate_batch(500, seed=3), generate_batch(500, seed=3))
    assert not generate_batch(500, seed=3).equals(generate_batch(500, seed=4))


def test_requests_are_whole_and_their_context_is_shared() -> None:
    batch = generate_batch(ROWS, seed=1)
    assert len(batch) == ROWS and batch["impression_id"].is_unique
    sizes = batch.groupby(GROUP, sort=False).size()
    low, high = CANDIDATES_PER_REQUEST
    assert sizes.iloc[:-1].between(low, high).all()  # the last request is cut to fit
    assert (batch.groupby(GROUP)[QUERY_LEVEL].nunique() == 1).all().all()
    positions = batch.groupby(GROUP, sort=False)["position"]
    assert (positions.min() == 1).all() and (positions.max() == sizes).all()
    assert (batch["hour_of_day"] == batch["event_time"].dt.hour).all()


def test_relevance_is_graded_and_learnable() -> None:
    batch = generate_batch(ROWS, seed=1)
    assert set(batch[TARGET].unique()) == {0, 1, 2}
    assert 0.05 < (batch[TARGET] > 0).mean() < 0.3
    random_order = np.random.default_rng(0).random(ROWS)
    assert ndcg(batch, expected_target(batch)) > ndcg(batch, random_order) + 0.2


def test_position_bias_lowers_responses_further_down() -> None:
    batch = generate_batch(ROWS, seed=1)
    by_position = (batch[TARGET] > 0).groupby(batch["position"]).mean()
    assert by_position.loc[1] > 1.8 * by_position.loc[8]


def test_covariate_shift_moves_candidates_not_tastes() -> None:
    base = generate_batch(ROWS, seed=1)
    shifted = generate_batch(ROWS, seed=1, drift="covariate")
    assert shifted["distance_km"].mean() > 1.6 * base["distance_km"].mean()
    assert shifted["price"].mean() > 1.6 * base["price"].mean()
    assert shifted["days_until"].mean() > base["days_until"].mean() + 5
    assert (
        shifted["event_category"].eq("tech").mean() > base["event_category"].eq("tech").mean() + 0.2
    )
    random_order = np.random.default_rng(0).random(ROWS)
    assert ndcg(shifted, expected_target(shifted)) > ndcg(shifted, random_order) + 0.2


def test_concept_drift_keeps_candidates_and_changes_tastes() -> None:
    base = generate_batch(ROWS, seed=1)
    drifted = generate_batch(ROWS, seed=1, drift="concept")
    features = [c for c in base.columns if c not in ("impression_id", GROUP, TARGET)]
    pd.testing.assert_frame_equal(base[features], drifted[features])
    # The new tastes rank the drifted responses better than the old ones do.
    assert ndcg(drifted, appeal_logit(drifted, DRIFTED_APPEAL)) > ndcg(
        drifted, expected_target(drifted)
    )


def test_rows_must_be_positive() -> None:
    with pytest.raises(ValueError, match="rows must be positive"):
        generate_batch(0)
