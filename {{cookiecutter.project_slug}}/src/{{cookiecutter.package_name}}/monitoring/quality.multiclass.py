"""What monitoring measures of a multiclass classifier where labels arrived, with Evidently.

The drift report maps the predicted class as the prediction and the verdict as the label, both
as each class's position in the contract's `values` (the target is encoded so for every task;
`for_quality` encodes the predicted class the same way), with the classes' names as Evidently's
display labels. The target's own drift and the predicted class's are tested as categories (the
class distribution); quality is Evidently's classification preset on the predicted class
(accuracy, and precision, recall and F1 averaged over the classes). Another task's project has
its own `quality.py` instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from evidently import MulticlassClassification
from evidently.presets import ClassificationPreset

from ..contract.prediction import PREDICTED_CLASS
from .stattests import TWO_SAMPLE_CHISQUARE

if TYPE_CHECKING:
    import pandas as pd

    from ..contract import DataContract

# How the target's own drift is tested: it takes a few values (as a predicted class's is).
TARGET_TEST = TWO_SAMPLE_CHISQUARE
TARGET_IS_CATEGORY = True
# The Evidently metrics read back as the window's quality (by their type name).
QUALITY_METRICS = frozenset({"Accuracy", "Precision", "Recall", "F1Score"})
# The quality metric the dashboard plots over time, its title, and which of its values.
DASHBOARD_METRIC: tuple[str, str, dict[str, str]] = ("F1Score", "F1 (macro)", {})


def task_definition(contract: DataContract, score: str) -> dict[str, Any]:
    """The part of Evidently's DataDefinition that says what the task is."""
    target = contract.target
    names = {position: str(label) for position, label in enumerate(target.labels)}
    return {
        "classification": [
            MulticlassClassification(
                target=target.name, prediction_labels=PREDICTED_CLASS, labels=names
            )
        ]
    }


def quality_preset() -> list[Any]:
    return [ClassificationPreset()]


def read_metric(value: Any) -> float:
    """A quality metric's value as a number (Evidently gives each as one)."""
    return float(value)


def for_quality(frame: pd.DataFrame, contract: DataContract) -> pd.DataFrame:
    """The predicted class as the target is encoded (its position in the contract's
    `values`), so Evidently compares like with like."""
    if PREDICTED_CLASS not in frame.columns:
        return frame
    return frame.assign(**{PREDICTED_CLASS: contract.encode_target(frame[PREDICTED_CLASS])})
