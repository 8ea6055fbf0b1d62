"""What monitoring measures of a binary classifier where labels arrived, with Evidently.

The drift report maps the score as the prediction probability of the positive class and the
target (1/0) as the label; the target's drift is tested as a category; quality is Evidently's
classification preset. Another task's project has its own `quality.py` instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from evidently import BinaryClassification
from evidently.presets import ClassificationPreset

if TYPE_CHECKING:
    import pandas as pd

    from ..contract import DataContract

# How the target's own drift is tested: it takes two values.
TARGET_TEST = "chisquare"
TARGET_IS_CATEGORY = True
# The Evidently metrics read back as the window's quality (by their type name).
QUALITY_METRICS = frozenset({"Accuracy", "Precision", "Recall", "F1Score", "RocAuc", "LogLoss"})
# The quality metric the dashboard plots over time, its title, and which of its values (a
# single number: no label needed).
DASHBOARD_METRIC: tuple[str, str, dict[str, str]] = ("RocAuc", "ROC-AUC", {})


def task_definition(contract: DataContract, score: str) -> dict[str, Any]:
    """The part of Evidently's DataDefinition that says what the task is."""
    target = contract.target.name
    return {"classification": [BinaryClassification(target=target, prediction_probas=score)]}


def quality_preset() -> list[Any]:
    return [ClassificationPreset()]


def read_metric(value: Any) -> float:
    """A quality metric's value as a number (Evidently gives each as one)."""
    return float(value)


def for_quality(frame: pd.DataFrame, contract: DataContract) -> pd.DataFrame:
    """The window as Evidently reads it: as it is (the score and the target are numbers)."""
    return frame
