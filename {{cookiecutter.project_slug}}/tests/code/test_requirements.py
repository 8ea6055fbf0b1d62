"""Step 1: the requirements file loads into typed thresholds that later steps can apply."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from {{ cookiecutter.package_name }}.requirements import MetricThreshold, load_requirements
from {{ cookiecutter.package_name }}.requirements.spec import RequirementsError
from {{ cookiecutter.package_name }}.settings import Settings

PACKAGED = Settings().requirements_file


def test_packaged_requirements_load() -> None:
    requirements = load_requirements(PACKAGED)
    assert requirements.offline_metrics.primary == "roc_auc"
    assert requirements.serving.p99_latency_ms > 0
    assert requirements.drift.alert_drift_share <= requirements.drift.retrain_drift_share


def test_gate_passes_metrics_that_meet_every_threshold() -> None:
    metrics = {"roc_auc": 0.8, "pr_auc": 0.4, "log_loss": 0.2, "expected_calibration_error": 0.01}
    assert load_requirements(PACKAGED).offline_metrics.failures(metrics) == []


def test_gate_names_each_missed_threshold() -> None:
    metrics = {"roc_auc": 0.6, "pr_auc": 0.4, "log_loss": 0.9}
    failures = load_requirements(PACKAGED).offline_metrics.failures(metrics)
    assert any(f.startswith("roc_auc 0.6000 is below the minimum") for f in failures)
    assert any(f.startswith("log_loss 0.9000 is above the maximum") for f in failures)
    assert "expected_calibration_error was not measured" in failures
    assert not any(f.startswith("pr_auc") for f in failures)


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
        ({"offline_metrics": {"primary": "accuracy", "thresholds": {}}}, "primary"),
        ({"offline_metrics": {"primary": "roc_auc", "thresholds": {"roc_auc": {}}}}, "min"),
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
