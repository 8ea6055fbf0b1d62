"""Offline metrics of a regression: every metric step 1 can name, against hand-computed values,
slices, plots and the paired bootstrap."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.requirements import MetricName, OfflineMetrics
from {{ cookiecutter.package_name }}.training.evaluation import compare, evaluate, holdout_metrics, write_plots

RNG = np.random.default_rng(0)
TRUTH = RNG.gamma(4.0, 10.0, 20_000)
GOOD = TRUTH + RNG.normal(0, 3, 20_000)


def offline(primary: str = "mae", rounds: int = 300) -> OfflineMetrics:
    return OfflineMetrics.model_validate(
        {
            "primary": primary,
            "higher_is_better": primary == "r2",
            "bootstrap_rounds": rounds,
            "thresholds": {primary: {"max": 100.0}},
        }
    )


def test_every_metric_the_requirements_can_name_is_measured() -> None:
    metrics = holdout_metrics(TRUTH, GOOD, offline())
    assert set(metrics) == set(get_args(MetricName))
    assert all(np.isfinite(value) for value in metrics.values())


def test_metrics_match_hand_computed_values() -> None:
    # Truth 10, 20, 30, 40; predictions 12, 18, 33, 40: errors +2, -2, +3, 0.
    truth, predicted = np.array([10.0, 20, 30, 40]), np.array([12.0, 18, 33, 40])
    metrics = holdout_metrics(truth, predicted, offline())
    assert metrics["mae"] == pytest.approx(7 / 4)
    assert metrics["rmse"] == pytest.approx(np.sqrt(17 / 4))
    assert metrics["mean_error"] == pytest.approx(3 / 4)
    assert metrics["median_absolute_error"] == pytest.approx(2.0)
    assert metrics["mape"] == pytest.approx((2 / 10 + 2 / 20 + 3 / 30 + 0) / 4)
    # R² = 1 - 17 / 500 (the truth's squared deviations from its mean 25: 225+25+25+225).
    assert metrics["r2"] == pytest.approx(1 - 17 / 500)


def test_mape_is_not_taken_when_a_true_value_is_not_positive() -> None:
    metrics = holdout_metrics(np.array([0.0, 5.0, 10.0]), np.array([1.0, 5.0, 9.0]), offline())
    assert np.isnan(metrics["mape"]) and metrics["mae"] == pytest.approx(2 / 3)


def test_slices_cover_every_value_of_each_column() -> None:
    frame = pd.DataFrame({"vehicle": RNG.choice(["bike", "car"], 20_000), "weather": "clear"})
    truth, predicted = pd.Series(TRUTH), pd.Series(GOOD)
    result = evaluate(frame, truth, predicted, ["vehicle", "weather"], offline())
    by_slice = {(item.column, item.value): item for item in result.slices}
    assert set(by_slice) == {("vehicle", "bike"), ("vehicle", "car"), ("weather", "clear")}
    assert by_slice["weather", "clear"].mae == pytest.approx(result.metrics["mae"])
    bike = frame["vehicle"] == "bike"
    assert by_slice["vehicle", "bike"].rows == bike.sum()
    assert by_slice["vehicle", "bike"].mean_target == pytest.approx(truth[bike].mean())


def test_plots_are_written_as_png(tmp_path: Path) -> None:
    written = write_plots(TRUTH, GOOD, offline(), tmp_path / "plots")
    assert {path.name for path in written} == {
        "predicted_vs_true.png",
        "residuals_vs_predicted.png",
        "residual_histogram.png",
    }
    for path in written:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_paired_bootstrap_finds_a_real_difference_and_not_a_copy() -> None:
    noisy = GOOD + RNG.normal(0, 3, 20_000)
    better = compare(TRUTH, GOOD, noisy, offline(), seed=1)
    # MAE: lower is better, so the better challenger's difference is negative, all the way.
    assert better.high < 0 and better.difference < 0
    same = compare(TRUTH, GOOD, GOOD, offline(), seed=1)
    assert same.low == same.high == same.difference == 0
    # The fast MAE path agrees with the generic one (RMSE takes the generic path).
    generic = compare(TRUTH, GOOD, noisy, offline("rmse", rounds=100), seed=1)
    assert generic.high < 0
    fast = compare(TRUTH, GOOD, noisy, offline(rounds=100), seed=7)
    rows = np.random.default_rng(7).integers(0, len(TRUTH), len(TRUTH))
    first = np.abs(GOOD[rows] - TRUTH[rows]).mean() - np.abs(noisy[rows] - TRUTH[rows]).mean()
    assert fast.low <= first <= fast.high
