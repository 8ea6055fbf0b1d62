"""What monitoring measures of a ranking where labels arrived, with Evidently.

The drift report maps each query's rows as a recommendation list (Evidently's `Recsys`: the
group column as the user, the row's id as the item, the score as the prediction, the grade as
the relevance); the grade's own drift is tested as a category; quality is Evidently's ranking
metrics at step 1's `k` (NDCG, MRR, MAP, precision). Another task's project has its own
`quality.py` instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from evidently import Recsys
from evidently.metrics import MAP, MRR, NDCG, PrecisionTopK

from ..requirements import load_requirements
from ..settings import get_settings

if TYPE_CHECKING:
    import pandas as pd

    from ..contract import DataContract

# How the target's own drift is tested: a few grades.
TARGET_TEST = "chisquare"
TARGET_IS_CATEGORY = True
# The Evidently metrics read back as the window's quality (by their type name).
QUALITY_METRICS = frozenset({"NDCG", "MRR", "MAP", "PrecisionTopK"})
# The quality metric the dashboard plots over time, its title, and which of its values
# (Evidently reports a ranking metric at every cut-off up to k, each as a `value`).
DASHBOARD_METRIC: tuple[str, str, dict[str, str]] = (
    "NDCG",
    "NDCG at cut-offs 1..k",
    {"column": "value"},
)


def task_definition(contract: DataContract, score: str) -> dict[str, Any]:
    """The part of Evidently's DataDefinition that says what the task is."""
    ranking = Recsys(
        user_id=contract.group_column or "",
        item_id=contract.id_column or "",
        target=contract.target.name,
        prediction=score,
    )
    return {"ranking": [ranking]}


def quality_preset() -> list[Any]:
    k = load_requirements(get_settings().requirements_file).offline_metrics.k
    return [NDCG(k=k), MRR(k=k), MAP(k=k), PrecisionTopK(k=k)]


def read_metric(value: Any) -> float:
    """A quality metric's value as a number: Evidently gives a ranking metric at every cut-off
    from 1 to k, and the last is the metric at k."""
    return float(list(value["value"].values())[-1])


def for_quality(frame: pd.DataFrame, contract: DataContract) -> pd.DataFrame:
    """The window as Evidently reads it: as it is (the score and the target are numbers)."""
    return frame
