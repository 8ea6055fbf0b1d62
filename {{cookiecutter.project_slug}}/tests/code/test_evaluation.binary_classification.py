"""Offline metrics: every metric step 1 can name, calibration, slices and plots."""

from __future__ import annotations

import math
from pathlib import Path
from typing import get_args

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from {{ cookiecutter.package_name }}.requirements import MetricName, OfflineMetrics
from {{ cookiecutter.package_name }}.training.evaluation import (
    AucOfResample,
    compare,
    evaluate,
    expected_calibration_error,
    holdout_metrics,
    metric_value,
    write_plots,
)

RNG = np.random.default_rng(0)
SCORES = RNG.uniform(0, 0.5, 20_000)
CALIBRATED_LABELS = (RNG.random(20_000) < SCORES).astype(int)


def offline(primary: str = "roc_auc", rounds: int = 300) -> OfflineMetrics:
    return OfflineMetrics.model_validate(
        {
            "primary": primary,
            "decision_threshold": 0.2,
            "bootstrap_rounds": rounds,
            "thresholds": {primary: {"min": 0.0}},
        }
    )


def test_metrics_match_hand_computed_values() -> None:
    # 4 rows: positives scored 0.9 and 0.4, negatives 0.6 and 0.1. Of the 4 positive-negative
    # pairs, 3 are ordered right: ROC-AUC 0.75. At threshold 0.5: one true positive (0.9), one
    # false positive (0.6), one false negative (0.4): precision = recall = F1 = 0.5.
    labels, scores = np.array([1, 0, 1, 0]), np.array([0.9, 0.6, 0.4, 0.1])
    metrics = holdout_metrics(
        labels, scores, offline().model_copy(update={"decision_threshold": 0.5})
    )
    assert metrics["roc_auc"] == pytest.approx(0.75)
    assert metrics["precision"] == metrics["recall"] == metrics["f1"] == pytest.approx(0.5)
    # Brier: mean of (0.1², 0.6², 0.6², 0.1²) = 0.185.
    assert metrics["brier_score"] == pytest.approx(0.185)


def test_every_metric_the_requirements_can_name_is_measured() -> None:
    metrics = holdout_metrics(CALIBRATED_LABELS, SCORES, offline())
    assert set(metrics) == set(get_args(MetricName))
    assert all(np.isfinite(value) for value in metrics.values())


def test_calibration_error_is_small_when_scores_are_probabilities() -> None:
    assert expected_calibration_error(CALIBRATED_LABELS, SCORES) < 0.01
    # Scores twice the true probability p overstate it by p: the error is the mean p (0.25).
    overconfident = expected_calibration_error(CALIBRATED_LABELS, SCORES * 2)
    assert overconfident == pytest.approx(SCORES.mean(), abs=0.01)


def test_ranking_metrics_are_nan_when_one_class_is_missing() -> None:
    metrics = holdout_metrics(np.zeros(100, dtype=int), SCORES[:100], offline())
    assert np.isnan(metrics["roc_auc"])
    assert np.isnan(metrics["pr_auc"])
    assert np.isfinite(metrics["log_loss"])


def test_slices_cover_every_value_of_each_column() -> None:
    frame = pd.DataFrame({"device": RNG.choice(["mobile", "desktop"], 20_000), "position": "top"})
    labels, scores = pd.Series(CALIBRATED_LABELS), pd.Series(SCORES)
    result = evaluate(frame, labels, scores, ["device", "position"], offline())
    by_slice = {(item.column, item.value): item for item in result.slices}
    assert set(by_slice) == {("device", "mobile"), ("device", "desktop"), ("position", "top")}
    assert by_slice["position", "top"].rows == 20_000
    assert by_slice["position", "top"].roc_auc == result.metrics["roc_auc"]
    mobile = frame["device"] == "mobile"
    assert by_slice["device", "mobile"].rows == mobile.sum()
    assert by_slice["device", "mobile"].positive_rate == labels[mobile].mean()


def test_plots_are_written_as_png(tmp_path: Path) -> None:
    written = write_plots(CALIBRATED_LABELS, SCORES, offline(), tmp_path / "plots")
    assert {path.name for path in written} == {
        "confusion_matrix.png",
        "roc_curve.png",
        "precision_recall_curve.png",
        "calibration_curve.png",
    }
    for path in written:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_auc_of_a_resample_by_counts_is_the_auc_of_the_resampled_rows() -> None:
    random = np.random.default_rng(3)
    labels = (random.random(3_000) < 0.15).astype(int)
    # Rounded scores, so that many rows tie, within and across the classes.
    scores = np.round(np.clip(0.2 * labels + random.random(3_000), 0, 1), 2)
    auc = AucOfResample(labels, scores)
    for _ in range(5):
        rows = random.integers(0, len(labels), len(labels))
        expected = roc_auc_score(labels[rows], scores[rows])
        assert auc(np.bincount(rows, minlength=len(labels))) == pytest.approx(expected, abs=1e-12)
    assert math.isnan(auc(np.bincount(np.flatnonzero(labels == 0), minlength=len(labels))))


def test_paired_bootstrap_finds_a_real_difference_and_not_a_copy() -> None:
    random = np.random.default_rng(0)
    labels = (random.random(4_000) < 0.2).astype(int)
    good = np.clip(0.3 * labels + random.normal(0.3, 0.15, 4_000), 0.001, 0.999)
    noisy = np.clip(good + random.normal(0, 0.2, 4_000), 0.001, 0.999)
    better = compare(labels, good, noisy, offline(), seed=1)
    assert better.low > 0 and better.difference > 0
    same = compare(labels, good, good, offline(), seed=1)
    assert same.low == same.high == same.difference == 0
    # The fast ROC-AUC path and the generic one agree (log loss takes the generic path).
    generic = compare(labels, good, noisy, offline("log_loss", rounds=100), seed=1)
    assert generic.difference < 0  # lower log loss for the better model


def test_the_rank_auc_of_resampling_loops_is_scikit_learns() -> None:
    rng = np.random.default_rng(3)
    labels = (rng.random(3_000) < 0.1).astype(int)
    scores = np.round(rng.random(3_000) * 0.7 + labels * 0.3, 2)  # rounded: many ties
    assert metric_value("roc_auc", labels, scores, offline()) == pytest.approx(
        roc_auc_score(labels, scores), abs=1e-12
    )
    assert np.isnan(metric_value("roc_auc", np.zeros(10), scores[:10], offline()))
