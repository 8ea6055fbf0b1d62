"""Step 3: the generator gives learnable, imbalanced verdicts and the drift it promises."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.data.synthetic import (
    CLASSES,
    DRIFTED_VERDICT_MODEL,
    expected_target,
    generate_batch,
    verdict_probabilities,
)

ROWS = 20_000
TARGET = "verdict"


def log_loss(frame: pd.DataFrame, probabilities: np.ndarray) -> float:
    truth = frame[TARGET].map({name: k for k, name in enumerate(CLASSES)}).to_numpy()
    return float(-np.log(probabilities[np.arange(len(frame)), truth]).mean())


def test_same_seed_same_batch() -> None:
    pd.testing.assert_frame_equal(generate_batch(500, seed=3), generate_batch(500, seed=3))
    assert not generate_batch(500, seed=3).equals(generate_batch(500, seed=4))


def test_verdicts_are_imbalanced_and_learnable() -> None:
    batch = generate_batch(ROWS, seed=1)
    shares = batch[TARGET].value_counts(normalize=True)
    assert set(shares.index) == set(CLASSES)
    assert 0.7 < shares["none"] < 0.88 and shares["spam"] > shares["violence"]
    assert 0.01 < shares["violence"] < 0.06
    # The true probabilities beat the class shares by far (the shares know nothing of a row).
    base = np.tile(shares.reindex(CLASSES).to_numpy(), (ROWS, 1))
    assert log_loss(batch, expected_target(batch)) < 0.8 * log_loss(batch, base)


def test_covariate_shift_is_a_spam_wave_with_the_same_verdict_model() -> None:
    base = generate_batch(ROWS, seed=1)
    wave = generate_batch(ROWS, seed=1, drift="covariate")
    assert wave["link_count"].mean() > base["link_count"].mean() + 0.3
    assert wave["author_posts_last_hour"].mean() > 1.5 * base["author_posts_last_hour"].mean()
    assert wave["author_account_age_days"].median() < 0.3 * base["author_account_age_days"].median()
    assert wave[TARGET].eq("spam").mean() > base[TARGET].eq("spam").mean() + 0.05
    # The verdict model is unchanged, so the true probabilities still fit.
    assert log_loss(wave, expected_target(wave)) < 1.2 * log_loss(base, expected_target(base)) + 0.1


def test_concept_drift_keeps_features_and_changes_what_spam_looks_like() -> None:
    base = generate_batch(ROWS, seed=1)
    drifted = generate_batch(ROWS, seed=1, drift="concept")
    features = [c for c in base.columns if c not in ("post_id", TARGET)]
    pd.testing.assert_frame_equal(base[features], drifted[features])
    assert log_loss(drifted, expected_target(drifted)) > log_loss(base, expected_target(base))
    new = verdict_probabilities(drifted, DRIFTED_VERDICT_MODEL)
    assert log_loss(drifted, new) < log_loss(drifted, expected_target(drifted))
    direct = drifted["surface"] == "direct_message"
    assert drifted[TARGET][direct].eq("spam").mean() > 2 * base[TARGET][direct].eq("spam").mean()


def test_time_features_agree_with_the_timestamp() -> None:
    batch = generate_batch(1_000, seed=2)
    assert (batch["hour_of_day"] == batch["posted_at"].dt.hour).all()
    assert batch["post_id"].is_unique


def test_rows_must_be_positive() -> None:
    with pytest.raises(ValueError, match="rows must be positive"):
        generate_batch(0)
