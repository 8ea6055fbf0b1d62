"""What the model answers for one record (step 2's output), as every step reads it.

The model's raw output is an array with a row per record. The task's target rules name its
shape (`PREDICTION`), which turns that array into the named fields a scored row gains: the
response model (`serving/schemas.py`), the prediction log, batch scoring's file, prediction
drift, the monitoring windows, online metrics and experiments read the fields through it, and
go back from a logged row to the raw output the task's metrics take (`raw`). The first field is
the row's score: the one number every summary shows (a mean, a drift test).

Two shapes exist. `OneScore`: one number per record (a probability, a value, a ranking score;
a ranking orders its candidates by it). `ClassProbabilities`: one probability per class, the
predicted class and its probability as the score; its raw output has a column per class, and
its fields name the contract's classes, so the shape a step uses is the one the contract binds
(`DataContract.prediction`). The unbound shape (`target.PREDICTION`) names only what every
contract shares: the response model's fields and the score.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd
from pydantic import Field

if TYPE_CHECKING:
    from .column_types import Label
    from .spec import DataContract

SCORE = "score"
PREDICTED_CLASS = "predicted_class"
PROBABILITIES = "probabilities"
PROBABILITY_PREFIX = "probability_"

# A model's output on a holdout, as training and judging hold it: one score per row (a Series
# aligned with the rows) or one column per class (a DataFrame), or the bare array.
Scores = np.ndarray | pd.Series | pd.DataFrame


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

    @property
    def class_columns(self) -> tuple[str, ...]:
        """The categorical fields prediction drift tests (a predicted class)."""
        ...

    def bound(self, contract: DataContract) -> PredictionShape:
        """The shape for this contract's target (a class per label); itself when it has none."""
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

    @property
    def class_columns(self) -> tuple[str, ...]:
        return ()

    def bound(self, contract: DataContract) -> PredictionShape:
        return self

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


@dataclass(frozen=True)
class ClassProbabilities:
    """One probability per class, in `classes` order (the raw output's columns); the predicted
    class is the likeliest, and the score is its probability. A response holds the
    probabilities as one object keyed by class; a frame (the log, a scored file) as a column per
    class, `probability_<class>`, so every file format holds them."""

    description: str  # what the score means, in the OpenAPI document
    classes: tuple[Label, ...] = ()  # empty until bound to a contract

    @property
    def fields(self) -> tuple[str, ...]:
        return (SCORE, PREDICTED_CLASS, *self.probability_columns)

    @property
    def probability_columns(self) -> tuple[str, ...]:
        return tuple(f"{PROBABILITY_PREFIX}{label}" for label in self.classes)

    @property
    def drift_columns(self) -> tuple[str, ...]:
        return (SCORE,)

    @property
    def class_columns(self) -> tuple[str, ...]:
        return (PREDICTED_CLASS,)

    def bound(self, contract: DataContract) -> PredictionShape:
        return ClassProbabilities(self.description, tuple(contract.target.labels))

    def response_fields(self) -> dict[str, Any]:
        return {
            SCORE: (float, Field(description=self.description)),
            PREDICTED_CLASS: (
                str | int | bool,
                Field(description="The likeliest class (the score is its probability)"),
            ),
            PROBABILITIES: (
                dict[str, float],
                Field(description="Every class's probability, keyed by the class"),
            ),
        }

    def _checked(self, raw: np.ndarray) -> np.ndarray:
        if not self.classes:
            raise ValueError("the prediction shape is not bound to the contract's classes")
        return np.asarray(raw, dtype=float).reshape(-1, len(self.classes))

    def _predicted(self, probabilities: np.ndarray) -> list[Label]:
        return [self.classes[int(i)] for i in probabilities.argmax(axis=1)]

    def columns(self, raw: np.ndarray) -> dict[str, np.ndarray]:
        probabilities = self._checked(raw)
        predicted = np.empty(len(probabilities), dtype=object)
        predicted[:] = self._predicted(probabilities)
        named = dict(zip(self.probability_columns, probabilities.T, strict=True))
        return {SCORE: probabilities.max(axis=1), PREDICTED_CLASS: predicted, **named}

    def answers(self, raw: np.ndarray) -> list[dict[str, Any]]:
        probabilities = self._checked(raw)
        keys = [str(label) for label in self.classes]
        return [
            {
                SCORE: max(row),
                PREDICTED_CLASS: predicted,
                PROBABILITIES: dict(zip(keys, row, strict=True)),
            }
            for row, predicted in zip(
                probabilities.tolist(), self._predicted(probabilities), strict=True
            )
        ]

    def raw(self, scored: pd.DataFrame) -> np.ndarray:
        return scored[list(self.probability_columns)].to_numpy(dtype=float)

    def empty_output(self) -> np.ndarray:
        return np.empty((0, len(self.classes)), dtype=float)


def log_rows(shape: PredictionShape, raw: np.ndarray) -> list[dict[str, Any]]:
    """The model's raw output as one dict of the frame's fields per row (a prediction-log line's
    fields: flat, as a scored file has them)."""
    columns = shape.columns(raw)
    names = list(columns)
    return [
        dict(zip(names, values, strict=True))
        for values in zip(*(c.tolist() for c in columns.values()), strict=True)
    ]


def as_scores(raw: np.ndarray, index: pd.Index) -> pd.Series | pd.DataFrame:
    """The model's raw output aligned with the rows it scored: a Series of one score per row, or
    a DataFrame with a column per class."""
    if np.ndim(raw) == 1:
        return pd.Series(raw, index=index, name=SCORE)
    return pd.DataFrame(raw, index=index)


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
