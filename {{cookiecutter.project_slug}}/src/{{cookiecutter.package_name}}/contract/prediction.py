"""What the model answers for one record (step 2's output), as every step reads it.

The model's raw output is an array with a row per record. The task's target rules name its
shape (`PREDICTION`), which turns that array into the named fields a scored row gains: the
response model (`serving/schemas.py`), the prediction log, batch scoring's file, prediction
drift, the monitoring windows, online metrics and experiments read the fields through it, and
go back from a logged row to the raw output the task's metrics take (`raw`). The first field is
the row's score: the one number every summary shows (a mean, a drift test).

Today's tasks answer one score per record (a probability, a value, a ranking score; a ranking
orders its candidates by it). A task whose answer is one probability per class and the
predicted class declares a shape with those fields.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd
from pydantic import Field

SCORE = "score"


class PredictionShape(Protocol):
    """What a task's answer for one record is."""

    @property
    def fields(self) -> tuple[str, ...]:
        """The fields a scored row gains, in order; the first is its score."""
        ...

    @property
    def drift_columns(self) -> tuple[str, ...]:
        """The numeric fields prediction drift tests."""
        ...

    def response_fields(self) -> dict[str, Any]:
        """The fields of one prediction in a response: name -> (annotation, pydantic Field)."""
        ...

    def columns(self, raw: np.ndarray) -> dict[str, np.ndarray]:
        """The model's raw output as the fields' columns."""
        ...

    def answers(self, raw: np.ndarray) -> list[dict[str, Any]]:
        """The model's raw output as one JSON-ready dict of the fields per row."""
        ...

    def raw(self, scored: pd.DataFrame) -> np.ndarray:
        """Back from scored rows (a log, a file) to the raw output the task's metrics take."""
        ...

    def empty_output(self) -> np.ndarray:
        """The raw output for no rows (the columns' types, for a frame's schema)."""
        ...


@dataclass(frozen=True)
class OneScore:
    """One number per record: a probability, a predicted value, a ranking score."""

    description: str  # what the score means, in the OpenAPI document

    @property
    def fields(self) -> tuple[str, ...]:
        return (SCORE,)

    @property
    def drift_columns(self) -> tuple[str, ...]:
        return (SCORE,)

    def response_fields(self) -> dict[str, Any]:
        return {SCORE: (float, Field(description=self.description))}

    def columns(self, raw: np.ndarray) -> dict[str, np.ndarray]:
        return {SCORE: np.asarray(raw, dtype=float)}

    def answers(self, raw: np.ndarray) -> list[dict[str, Any]]:
        return [{SCORE: value} for value in np.asarray(raw, dtype=float).tolist()]

    def raw(self, scored: pd.DataFrame) -> np.ndarray:
        return scored[SCORE].to_numpy(dtype=float)

    def empty_output(self) -> np.ndarray:
        return np.empty(0, dtype=float)


def scored_frame(
    frame: pd.DataFrame, shape: PredictionShape, raw: np.ndarray, **more: Any
) -> pd.DataFrame:
    """`frame` (a copy) with the prediction's fields, then `more` columns."""
    return frame.assign(**shape.columns(raw), **more)


def add_prediction(frame: pd.DataFrame, shape: PredictionShape, raw: np.ndarray) -> None:
    """Set the prediction's fields as columns of `frame`, in place (a window may hold 1M rows:
    no copy)."""
    for name, values in shape.columns(raw).items():
        frame[name] = values


def has_prediction(columns: Sequence[str] | pd.Index, shape: PredictionShape) -> bool:
    return all(name in columns for name in shape.fields)
