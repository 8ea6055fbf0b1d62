"""The requirements file, typed: later steps read these numbers instead of hard-coding them.

- training reads `offline_metrics` as its promotion gate,
- serving reads `serving` as its latency budget and request limits,
- monitoring reads `drift` to decide between no action, an alert and a retrain, and
  `online_metrics` to judge the served model on labels that arrive later.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..errors import ExpectedError, describe_validation_error
from .metrics import MetricName, TaskOfflineMetrics


class _Strict(BaseModel):
    # A typo in the YAML must be an error, not a silently ignored key.
    model_config = ConfigDict(extra="forbid", frozen=True)


class MetricThreshold(_Strict):
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _has_a_bound(self) -> MetricThreshold:
        if self.min is None and self.max is None:
            raise ValueError("a threshold needs `min`, `max` or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self

    def failure(self, name: str, value: float) -> str | None:
        """A sentence saying how `value` misses this threshold, or None when it meets it."""
        if math.isnan(value):
            return f"{name} is NaN"
        if self.min is not None and value < self.min:
            return f"{name} {value:.4f} is below the minimum {self.min}"
        if self.max is not None and value > self.max:
            return f"{name} {value:.4f} is above the maximum {self.max}"
        return None


class OfflineMetrics(TaskOfflineMetrics, _Strict):
    """The promotion gate's rules; `TaskOfflineMetrics` adds what only this task has."""

    primary: MetricName
    higher_is_better: bool = True
    thresholds: dict[MetricName, MetricThreshold]
    # Replacing a champion needs an improvement the holdout can show: the lower end of a paired
    # bootstrap interval of the primary metric's improvement must clear `min_improvement`.
    min_improvement: float = Field(default=0.0, ge=0)
    bootstrap_rounds: int = Field(default=500, ge=50)
    bootstrap_confidence: float = Field(default=0.95, gt=0.5, lt=1)

    def failures(self, metrics: Mapping[str, float]) -> list[str]:
        """Every threshold the metrics miss; an empty list means the model may be promoted."""
        return threshold_failures(self.thresholds, metrics)


def threshold_failures(
    thresholds: Mapping[MetricName, MetricThreshold], metrics: Mapping[str, float]
) -> list[str]:
    """A sentence for every threshold the metrics miss (or did not measure)."""
    problems = []
    for name, threshold in thresholds.items():
        if name not in metrics:
            problems.append(f"{name} was not measured")
            continue
        problem = threshold.failure(name, float(metrics[name]))
        if problem:
            problems.append(problem)
    return problems


class Scale(_Strict):
    daily_predictions: int = Field(gt=0)
    peak_requests_per_second: float = Field(gt=0)
    training_rows: int = Field(gt=0)
    retrain_every_days: int = Field(gt=0)


class ServingObjectives(_Strict):
    p99_latency_ms: float = Field(gt=0)
    max_batch_rows: int = Field(gt=0)
    availability: float = Field(gt=0, le=1)
    # The share of scored records the prediction log keeps (by a hash of the record's key, a
    # ranking's query: whole lists are kept or left). Below 1 for high traffic: monitoring
    # and online metrics then see a sample. The log's size bound is in the settings.
    log_share: float = Field(default=1.0, gt=0, le=1)


class DriftThresholds(_Strict):
    column_p_value: float = Field(gt=0, lt=1)
    alert_drift_share: float = Field(gt=0, le=1)
    retrain_drift_share: float = Field(gt=0, le=1)
    min_window_rows: int = Field(gt=0)

    @model_validator(mode="after")
    def _alert_before_retrain(self) -> DriftThresholds:
        if self.alert_drift_share > self.retrain_drift_share:
            raise ValueError("alert_drift_share must not exceed retrain_drift_share")
        return self


class OnlineMetrics(_Strict):
    """How the served model is judged on labels that arrive after its predictions (clicks after
    impressions): the offline metric names, measured per model version and time window."""

    # A label joins the predictions of its record logged at most this long before it arrived;
    # a later label is counted as late and left out (an outcome observed a week on is no
    # longer the response to what was served).
    label_window_hours: float = Field(default=24.0, gt=0)
    window_minutes: int = Field(default=60, gt=0)  # the time windows metrics are taken over
    min_labelled_rows: int = Field(default=500, gt=0)  # smaller windows are shown, not judged
    thresholds: dict[MetricName, MetricThreshold] = Field(default_factory=dict)
    on_breach: Literal["alert", "retrain"] = "alert"

    def failures(self, metrics: Mapping[str, float]) -> list[str]:
        return threshold_failures(self.thresholds, metrics)


class ExperimentRules(_Strict):
    """How a challenger that passes the gate reaches traffic, and how its trial is decided."""

    # direct: it replaces the champion at once. ab: it serves `MLSD_CHALLENGER_SHARE` of the
    # traffic (split by a stable hash of the record's key) until the `experiment` command
    # decides. shadow: it scores every record beside the champion, logged, never returned.
    rollout: Literal["direct", "ab", "shadow"] = "direct"
    metric: MetricName | None = None  # the business metric per arm (default: the primary)
    confidence: float = Field(default=0.95, gt=0.5, lt=1)
    min_labelled_per_arm: int = Field(default=500, gt=0)
    # Promote when the lower end of the interval of the challenger's improvement clears this;
    # roll back when the upper end is below zero; otherwise keep the champion and wait.
    min_improvement: float = Field(default=0.0, ge=0)
    bootstrap_rounds: int = Field(default=500, ge=50)


class SystemRequirements(_Strict):
    business_goal: str = Field(min_length=1)
    ml_objective: str = Field(min_length=1)
    scale: Scale
    offline_metrics: OfflineMetrics
    serving: ServingObjectives
    drift: DriftThresholds
    # Optional, so a requirements file written before online metrics existed still loads.
    online_metrics: OnlineMetrics = Field(default_factory=OnlineMetrics)
    experiment: ExperimentRules = Field(default_factory=ExperimentRules)


class RequirementsError(ExpectedError, ValueError):
    """The requirements file is missing or does not describe a valid system."""


def load_requirements(path: Path) -> SystemRequirements:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise RequirementsError(f"cannot read requirements file {path}: {error}") from error
    try:
        return SystemRequirements.model_validate(raw)
    except ValidationError as error:
        raise RequirementsError(
            f"requirements file {path} is invalid:\n{describe_validation_error(error)}"
        ) from None
