"""What judging a model on a holdout is, whatever the task: the evaluation's shape, its slices as
a table, the segments a slice is taken over, and the paired bootstrap over the holdout's rows.

Each task's `evaluation.py` supplies only what is its own (its metrics, what a slice measures, its
plots) and builds on these, so the skeleton exists once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..requirements import OfflineMetrics
from .bootstrap import PairedBootstrap, paired_bootstrap

# A metric of true values and predictions, row by row.
RowMetric = Callable[[np.ndarray, np.ndarray], float]
# The primary metric's difference (challenger minus champion) on a resample given as a count
# per row: a task's faster way than measuring the resampled rows (none: they are measured).
DifferenceOfCounts = Callable[[np.ndarray], float]
# One model's primary metric on such a resample.
MetricOfCounts = Callable[[np.ndarray], float]


def difference_of(challenger: MetricOfCounts, champion: MetricOfCounts) -> DifferenceOfCounts:
    """The challenger's metric on a resample (a count per row) less the champion's."""

    def difference(counts: np.ndarray) -> float:
        return challenger(counts) - champion(counts)

    return difference


# What the model card says when there is nothing to slice the rows by.
NO_ROW_SLICES = (
    "The contract has no category features, so there are no segments to slice by; only the "
    "overall metrics above."
)


@dataclass(frozen=True)
class Evaluation:
    """A model on a holdout: every metric of step 1 by name, and the task's slices (one
    dataclass per segment: a column's value, its size and what the task measures there). A task
    with classes adds a row per class (its `class_index` in the contract's `values`) and the
    confusion matrix (a row per true class, a column per predicted one)."""

    metrics: dict[str, float]
    slices: list[Any]
    classes: list[Any] = field(default_factory=list)
    confusion: list[list[int]] = field(default_factory=list)


def slices_table(slices: list[Any]) -> list[dict[str, Any]]:
    """The slices as rows of a table (the run's report, the model card)."""
    return [asdict(item) for item in slices]


def segments(frame: pd.DataFrame, columns: list[str]) -> Iterator[tuple[str, str, pd.Index]]:
    """Each value of each categorical column, with the rows that hold it: a model can be good on
    average and poor on one segment, and the gate's averages would not show it."""
    for column in columns:
        for value, index in frame.groupby(column, observed=True).groups.items():
            yield column, str(value), index


def compare_rows(
    truth: np.ndarray,
    challenger: np.ndarray,
    champion: np.ndarray,
    metric: RowMetric,
    offline: OfflineMetrics,
    seed: int,
    by_counts: DifferenceOfCounts | None = None,
) -> PairedBootstrap:
    """The paired bootstrap of the primary `metric` over the holdout's rows: both models are
    measured on each resample, and the interval is of their difference."""

    def difference(rows: np.ndarray | None) -> float:
        if rows is None:
            return metric(truth, challenger) - metric(truth, champion)
        if by_counts is not None:
            return by_counts(np.bincount(rows, minlength=len(truth)))
        return metric(truth[rows], challenger[rows]) - metric(truth[rows], champion[rows])

    return paired_bootstrap(
        offline.primary,
        len(truth),
        difference,
        offline.bootstrap_rounds,
        offline.bootstrap_confidence,
        seed,
    )
