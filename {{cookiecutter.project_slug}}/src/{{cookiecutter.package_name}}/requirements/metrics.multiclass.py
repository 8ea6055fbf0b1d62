"""The offline metrics a multiclass classifier can be held to: the names step 1 may use.

Macro averages weigh every class the same, however rare: a model that never finds the rare
harms scores poorly on them even when its accuracy is high. Per-class precision, recall and F1
are in the model card's table, not metrics a gate holds.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

MetricName = Literal[
    "macro_f1",
    "macro_precision",
    "macro_recall",
    "weighted_f1",
    "accuracy",
    "balanced_accuracy",
    "top_k_accuracy",
    "log_loss",
]


class TaskOfflineMetrics(BaseModel):
    """Offline-metric settings only a multiclass classification has."""

    # How many of the likeliest classes `top_k_accuracy` counts as a hit.
    top_k: int = Field(default=2, ge=1)
