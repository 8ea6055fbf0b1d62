"""What monitoring measures of a regression where labels arrived, with Evidently.

The drift report maps the score as the prediction and the target as the true value; the
target's own drift is tested like any numeric column; quality is Evidently's regression preset
(mean error, MAE, RMSE, MAPE, R²). Another task's project has its own `quality.py` instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from evidently import Regression
from evidently.presets import RegressionPreset

if TYPE_CHECKING:
    import pandas as pd

    from ..contract import DataContract

# How the target's own drift is tested: it is a quantity.
TARGET_TEST = "ks"
TARGET_IS_CATEGORY = False
# The Evidently metrics read back as the window's quality (by their type name).
QUALITY_METRICS = frozenset({"MeanError", "MAE", "RMSE", "MAPE", "R2Score", "AbsMaxError"})
# The quality metric the dashboard plots over time, its title, and which of its values (MAE
# is stored as its mean and spread over rows; the mean is the MAE).
DASHBOARD_METRIC: tuple[str, str, dict[str, str]] = ("MAE", "MAE", {"value_type": "mean"})


def task_definition(contract: DataContract, score: str) -> dict[str, Any]:
    """The part of Evidently's DataDefinition that says what the task is."""
    target = contract.target.name
    return {"regression": [Regression(target=target, prediction=score)]}


def quality_preset() -> list[Any]:
    return [RegressionPreset()]


def read_metric(value: Any) -> float:
    """A quality metric's value as a number: Evidently gives an error metric as its mean and
    spread over rows, and the mean is the metric."""
    return float(value["mean"] if isinstance(value, dict) else value)


def for_quality(frame: pd.DataFrame, contract: DataContract) -> pd.DataFrame:
    """The window as Evidently reads it: as it is (the score and the target are numbers)."""
    return frame
