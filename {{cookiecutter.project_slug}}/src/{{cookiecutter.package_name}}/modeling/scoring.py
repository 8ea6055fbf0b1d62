"""What scores rows, whichever form the model takes: the fitted scikit-learn pipeline (the source
of truth) or its compiled form (`compiled.py`). Training, serving and monitoring score through
this one protocol."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import numpy as np
import pandas as pd

from ..contract import DataContract
from .candidates import predict_scores
from .compiled import Rows

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline


class ScoringModel(Protocol):
    """What scores rows, compiled or not: the task's score for each row, in row order."""

    @property
    def description(self) -> str: ...

    def score_rows(self, rows: Rows) -> np.ndarray: ...

    def score_frame(self, frame: pd.DataFrame) -> np.ndarray: ...


class PipelineModel:
    """The registered scikit-learn pipeline: the source of truth, and the fallback."""

    description = "scikit-learn pipeline"

    def __init__(self, pipeline: Pipeline, contract: DataContract) -> None:
        self.pipeline = pipeline
        self.contract = contract

    def score_rows(self, rows: Rows) -> np.ndarray:
        return self.score_frame(pd.DataFrame(list(rows)))

    def score_frame(self, frame: pd.DataFrame) -> np.ndarray:
        return predict_scores(self.pipeline, frame, self.contract).to_numpy()
