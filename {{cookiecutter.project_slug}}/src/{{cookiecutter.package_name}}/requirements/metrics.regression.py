"""The offline metrics a regression can be held to: the names step 1 may use."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

MetricName = Literal["mae", "rmse", "r2", "mape", "median_absolute_error", "mean_error"]


class TaskOfflineMetrics(BaseModel):
    """Offline-metric settings only a regression has: none (a classification's decision
    threshold would be refused as an unknown key)."""
