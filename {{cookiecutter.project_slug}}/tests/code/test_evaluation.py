"""Offline metrics: every metric step 1 can name, calibration, slices and plots."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.requirements import MetricName
from {{ cookiecutter.package_name }}.training.evaluation import (
    classification_metrics,
    evaluate,
    expected_calibration_error,
    write_plots,
)

RNG = np.random.default_rng(0)
SCORES = RNG.uniform(0, 0.5, 20_000)
CALIBRATED_LABELS = (RNG.random(20_000) < SCORES).astype(int)


def test_every_metric_the_requirements_can_name_is_measured() -> None:
    metrics = classification_metrics(CALIBRATED_LABELS, SCORES, threshold=0.2)
    assert set(metrics) == set(get_args(MetricName))
    assert all(np.isfinite(value) for value in metrics.values())


def test_calibration_error_is_small_when_scores_are_probabilities() -> None:
    assert expected_calibration_error(CALIBRATED_LABELS, SCORES) < 0.01
    # Scores twice the true probability p overstate it by p: the error is the mean p (0.25).
    overconfident = expected_calibration_error(CALIBRATED_LABELS, SCORES * 2)
    assert overconfident == pytest.approx(SCORES.mean(), abs=0.01)


def test_ranking_metrics_are_nan_when_one_class_is_missing() -> None:
    metrics = classification_metrics(np.zeros(100, dtype=int), SCORES[:100], threshold=0.2)
    assert np.isnan(metrics["roc_auc"])
    assert np.isnan(metrics["pr_auc"])
    assert np.isfinite(metrics["log_loss"])


def test_slices_cover_every_value_of_each_column() -> None:
    frame = pd.DataFrame({"device": RNG.choice(["mobile", "desktop"], 20_000), "position": "top"})
    labels, scores = pd.Series(CALIBRATED_LABELS), pd.Series(SCORES)
    result = evaluate(frame, labels, scores, ["device", "position"], threshold=0.2)
    by_slice = {(item.column, item.value): item for item in result.slices}
    assert set(by_slice) == {("device", "mobile"), ("device", "desktop"), ("position", "top")}
    assert by_slice["position", "top"].rows == 20_000
    assert by_slice["position", "top"].roc_auc == result.metrics["roc_auc"]
    mobile = frame["device"] == "mobile"
    assert by_slice["device", "mobile"].rows == mobile.sum()
    assert by_slice["device", "mobile"].positive_rate == labels[mobile].mean()


def test_plots_are_written_as_png(tmp_path: Path) -> None:
    written = write_plots(CALIBRATED_LABELS, SCORES, 0.2, tmp_path / "plots")
    assert {path.name for path in written} == {
        "confusion_matrix.png",
        "roc_curve.png",
        "precision_recall_curve.png",
        "calibration_curve.png",
    }
    for path in written:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
