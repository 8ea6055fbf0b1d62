"""The offline metrics a regression can be held to: the names step 1 may use."""

from __future__ import annotations

from typing import Literal

MetricName = Literal["mae", "rmse", "r2", "mape", "median_absolute_error", "mean_error"]
