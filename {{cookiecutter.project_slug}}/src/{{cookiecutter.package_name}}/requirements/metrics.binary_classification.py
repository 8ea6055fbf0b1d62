"""The offline metrics a binary classifier can be held to: the names step 1 may use."""

from __future__ import annotations

from typing import Literal

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
