"""The promotion gate: thresholds from step 1 AND a better primary metric than the champion."""

from __future__ import annotations

import math

import pytest

from {{ cookiecutter.package_name }}.requirements import OfflineMetrics, load_requirements
from {{ cookiecutter.package_name }}.settings import Settings
from {{ cookiecutter.package_name }}.training.bootstrap import PairedBootstrap
from {{ cookiecutter.package_name }}.training.gate import decide_promotion


@pytest.fixture(scope="module")
def offline() -> OfflineMetrics:
    return load_requirements(Settings().requirements_file).offline_metrics


def passing(offline: OfflineMetrics, **overrides: float) -> dict[str, float]:
    """Metrics sitting just inside every threshold of the requirements file."""
    metrics = {}
    for name, threshold in offline.thresholds.items():
        metrics[name] = threshold.min + 0.01 if threshold.min is not None else threshold.max - 0.01  # type: ignore[operator]
    return metrics | overrides


def test_first_model_meeting_every_threshold_is_promoted(offline: OfflineMetrics) -> None:
    decision = decide_promotion(passing(offline), None, offline)
    assert decision.promote
    assert "no champion" in decision.summary()


@pytest.mark.parametrize("metric", ["roc_auc", "pr_auc", "log_loss", "expected_calibration_error"])
def test_each_threshold_in_the_requirements_file_is_enforced(
    offline: OfflineMetrics, metric: str
) -> None:
    threshold = offline.thresholds[metric]  # type: ignore[index]
    missed = threshold.min - 0.01 if threshold.min is not None else threshold.max + 0.01  # type: ignore[operator]
    decision = decide_promotion(passing(offline, **{metric: missed}), None, offline)
    assert not decision.promote
    assert any(reason.startswith(metric) for reason in decision.reasons)


def test_a_worse_challenger_does_not_replace_the_champion(offline: OfflineMetrics) -> None:
    champion = passing(offline, roc_auc=0.80)
    decision = decide_promotion(passing(offline, roc_auc=0.79), champion, offline)
    assert not decision.promote
    assert "does not clear the margin" in decision.summary()
    # A tie keeps the champion: retraining on the same data must not churn versions.
    assert not decide_promotion(champion, champion, offline).promote


def test_a_better_challenger_replaces_the_champion(offline: OfflineMetrics) -> None:
    decision = decide_promotion(
        passing(offline, roc_auc=0.81), passing(offline, roc_auc=0.80), offline
    )
    assert decision.promote
    assert "clears the margin" in decision.summary() and "does not" not in decision.summary()


def test_better_than_the_champion_is_not_enough_below_a_threshold(
    offline: OfflineMetrics,
) -> None:
    champion = passing(offline, roc_auc=0.60)  # a champion from before the bar was raised
    decision = decide_promotion(passing(offline, roc_auc=0.65), champion, offline)
    assert not decision.promote


def test_lower_is_better_primary_metric(offline: OfflineMetrics) -> None:
    by_loss = offline.model_copy(update={"primary": "log_loss", "higher_is_better": False})
    better = decide_promotion(
        passing(offline, log_loss=0.20), passing(offline, log_loss=0.25), by_loss
    )
    worse = decide_promotion(
        passing(offline, log_loss=0.25), passing(offline, log_loss=0.20), by_loss
    )
    assert better.promote
    assert not worse.promote


def test_a_champion_that_cannot_be_measured_does_not_block(offline: OfflineMetrics) -> None:
    unmeasured = dict.fromkeys(passing(offline), math.nan)
    decision = decide_promotion(passing(offline), unmeasured, offline)
    assert decision.promote
    assert "could not be measured" in decision.summary()


def test_an_unmeasured_primary_metric_is_never_promoted(offline: OfflineMetrics) -> None:
    no_threshold = offline.model_copy(update={"primary": "brier_score"})
    decision = decide_promotion(passing(offline), None, no_threshold)
    assert not decision.promote
    assert "brier_score could not be measured" in decision.summary()


def test_floating_point_noise_is_not_an_improvement(offline: OfflineMetrics) -> None:
    """The retrain that was promoted on 0.9936284372904092 vs 0.9936284372904091."""
    champion = passing(offline, roc_auc=0.9936284372904091)
    decision = decide_promotion(passing(offline, roc_auc=0.9936284372904092), champion, offline)
    assert offline.min_improvement > 0
    assert not decision.promote
    assert "0.993628 vs the champion's 0.993628" in decision.summary()


def interval(low: float, high: float) -> PairedBootstrap:
    return PairedBootstrap("roc_auc", (low + high) / 2, low, high, 0.95, 500, 42)


@pytest.mark.parametrize(
    ("low", "high", "promote"),
    [(0.002, 0.010, True), (-0.001, 0.010, False), (0.00005, 0.010, False)],
)
def test_the_cautious_end_of_the_interval_must_clear_the_margin(
    offline: OfflineMetrics, low: float, high: float, promote: bool
) -> None:
    champion = passing(offline, roc_auc=0.80)
    challenger = passing(offline, roc_auc=0.806)
    decision = decide_promotion(challenger, champion, offline, interval(low, high))
    assert decision.promote is promote
    assert f"[{low:+.6f}, {high:+.6f}] over 500 resamples" in decision.summary()
