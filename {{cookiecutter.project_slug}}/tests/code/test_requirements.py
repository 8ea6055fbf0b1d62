"""Step 1: the requirements file loads into typed thresholds that later steps can apply."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest
import yaml

from {{ cookiecutter.package_name }}.requirements import MetricName, MetricThreshold, load_requirements
from {{ cookiecutter.package_name }}.requirements.spec import RequirementsError
from {{ cookiecutter.package_name }}.settings import Settings

PACKAGED = Settings().requirements_file
PRIMARY = load_requirements(PACKAGED).offline_metrics.primary


def test_packaged_requirements_load() -> None:
    requirements = load_requirements(PACKAGED)
    offline = requirements.offline_metrics
    assert offline.primary in get_args(MetricName) and offline.primary in offline.thresholds
    assert requirements.serving.p99_latency_ms > 0
    assert requirements.drift.alert_drift_share <= requirements.drift.retrain_drift_share


def inside(threshold: MetricThreshold) -> float:
    return threshold.min + 0.01 if threshold.min is not None else threshold.max - 0.01  # type: ignore[operator]


def test_gate_passes_metrics_that_meet_every_threshold() -> None:
    offline = load_requirements(PACKAGED).offline_metrics
    metrics: dict[str, float] = {
        name: inside(threshold) for name, threshold in offline.thresholds.items()
    }
    assert offline.failures(metrics) == []


def test_gate_names_each_missed_threshold() -> None:
    offline = load_requirements(PACKAGED).offline_metrics
    thresholds = list(offline.thresholds.items())
    (missed, bound), (unmeasured, _) = thresholds[0], thresholds[-1]
    metrics: dict[str, float] = {name: inside(threshold) for name, threshold in thresholds[1:-1]}
    if bound.min is not None:
        metrics[missed] = bound.min - 0.1
        expected = f"{missed} {bound.min - 0.1:.4f} is below the minimum"
    else:
        metrics[missed] = bound.max + 0.1  # type: ignore[operator]
        expected = f"{missed} {bound.max + 0.1:.4f} is above the maximum"  # type: ignore[operator]
    failures = offline.failures(metrics)
    assert len(thresholds) >= 3 and len(failures) == 2
    assert any(failure.startswith(expected) for failure in failures)
    assert f"{unmeasured} was not measured" in failures


def test_nan_metric_fails_the_gate() -> None:
    assert MetricThreshold(min=0.5).failure("roc_auc", float("nan")) == "roc_auc is NaN"


def _write(tmp_path: Path, change: dict[str, object]) -> Path:
    raw = yaml.safe_load(PACKAGED.read_text())
    raw.update(change)
    path = tmp_path / "requirements.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"latency_budget": 10}, "latency_budget"),
        (
            {
                "drift": {
                    "column_p_value": 0.05,
                    "alert_drift_share": 0.6,
                    "retrain_drift_share": 0.4,
                    "min_window_rows": 10,
                }
            },
            "alert_drift_share",
        ),
        ({"offline_metrics": {"primary": "not_a_metric", "thresholds": {}}}, "primary"),
        ({"offline_metrics": {"primary": PRIMARY, "thresholds": {PRIMARY: {}}}}, "min"),
    ],
)
def test_invalid_requirements_are_rejected_with_the_field(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    with pytest.raises(RequirementsError, match=message):
        load_requirements(_write(tmp_path, change))


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RequirementsError, match="cannot read requirements file"):
        load_requirements(tmp_path / "absent.yaml")
