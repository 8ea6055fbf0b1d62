"""The offline metrics a binary classifier can be held to: the names step 1 may use."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

MetricName = Literal[
    "precision",
    "recall",
    "f1",
    "roc_auc",
    "pr_auc",
    "log_loss",
    "brier_score",
    "expected_calibration_error",
]


class TaskOfflineMetrics(BaseModel):
    """Offline-metric settings only a classification has."""

    # The score at which a row counts as predicted positive (precision, recall, F1).
    decision_threshold: float = Field(default=0.5, gt=0, lt=1)
