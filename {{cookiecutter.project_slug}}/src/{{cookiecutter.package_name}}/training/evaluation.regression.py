"""Offline evaluation of a regression: the metrics step 1 names, per-slice errors, residual
plots and the paired comparison the gate judges.

Everything here is a plain function of true values and predictions, so the same code measures a
new model, the current champion on the same holdout, and (in monitoring) a model on labelled
traffic. Rows are judged one by one: the `groups` every task's functions accept (each row's
query) matter to a ranking only.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..contract.prediction import Scores
from ..requirements import OfflineMetrics
from .bootstrap import PairedBootstrap
from .judging import NO_ROW_SLICES, DifferenceOfCounts, Evaluation, compare_rows, segments
from .plots import Drawing, write_figures

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def _arrays(labels: np.ndarray | pd.Series, scores: Scores) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(labels, dtype=float), np.asarray(scores, dtype=float)


def mean_absolute_percentage_error(y: np.ndarray, p: np.ndarray) -> float:
    """Mean of |error| / true value, as a share; NaN unless every true value is positive (a
    percentage of zero or of a negative quantity means nothing)."""
    if len(y) == 0 or not (y > 0).all():
        return math.nan
    return float(np.mean(np.abs(p - y) / y))


def r2(y: np.ndarray, p: np.ndarray) -> float:
    """1 - residual variance / variance of the truth; NaN when the truth is constant."""
    spread = float(np.sum((y - y.mean()) ** 2))
    return 1.0 - float(np.sum((y - p) ** 2)) / spread if spread > 0 else math.nan


MetricFunction = Callable[[np.ndarray, np.ndarray], float]

# Each metric of `requirements.MetricName` from true values and predictions.
METRICS: dict[str, MetricFunction] = {
    "mae": lambda y, p: float(np.mean(np.abs(p - y))),
    "rmse": lambda y, p: float(np.sqrt(np.mean((p - y) ** 2))),
    "r2": r2,
    "mape": mean_absolute_percentage_error,
    "median_absolute_error": lambda y, p: float(np.median(np.abs(p - y))),
    # Positive: predictions run high on average (a quote that is too long); negative: too short.
    "mean_error": lambda y, p: float(np.mean(p - y)),
}


def holdout_metrics(
    labels: np.ndarray | pd.Series,
    scores: Scores,
    offline: OfflineMetrics,
    groups: np.ndarray | None = None,
) -> dict[str, float]:
    """Every metric `requirements.MetricName` lists (NaN where one cannot be taken)."""
    y, p = _arrays(labels, scores)
    if len(y) == 0:
        return dict.fromkeys(METRICS, math.nan)
    return {name: compute(y, p) for name, compute in METRICS.items()}


def metric_value(
    name: str,
    labels: np.ndarray | pd.Series,
    scores: Scores,
    offline: OfflineMetrics,
    groups: np.ndarray | None = None,
) -> float:
    """One metric of `holdout_metrics`, alone: what a resampling loop computes many times."""
    y, p = _arrays(labels, scores)
    return METRICS[name](y, p) if len(y) else math.nan


def resampled_metric(
    name: str, labels: np.ndarray, scores: np.ndarray, offline: OfflineMetrics
) -> Callable[[np.ndarray], float] | None:
    """A faster way to measure resamples than measuring their rows: none here (each metric is
    already one pass over the rows)."""
    return None


def compare(
    labels: np.ndarray | pd.Series,
    challenger: Scores,
    champion: Scores,
    offline: OfflineMetrics,
    seed: int,
    groups: np.ndarray | None = None,
) -> PairedBootstrap:
    """The paired bootstrap of the primary metric over the holdout's rows."""
    y, new = _arrays(labels, challenger)
    _, old = _arrays(labels, champion)
    by_counts: DifferenceOfCounts | None = None
    if offline.primary == "mae":
        # MAE, the usual primary metric, takes O(n) a round: a resample is a count per row, and
        # the count-weighted mean of each row's absolute error is the MAE of the resampled rows.
        gain = np.abs(new - y) - np.abs(old - y)

        def mae_difference(counts: np.ndarray) -> float:
            return float(counts @ gain) / int(counts.sum())

        by_counts = mae_difference
    return compare_rows(y, new, old, METRICS[offline.primary], offline, seed, by_counts)


@dataclass(frozen=True)
class SliceMetrics:
    column: str
    value: str
    rows: int
    mean_target: float
    mean_prediction: float
    mae: float
    mean_error: float


def slice_metrics(
    frame: pd.DataFrame, labels: pd.Series, scores: pd.Series | pd.DataFrame, columns: list[str]
) -> list[SliceMetrics]:
    """Errors per value of each categorical column (a vehicle, the weather)."""
    results = []
    for column, value, index in segments(frame, columns):
        y, p = _arrays(labels.loc[index], scores.loc[index])
        results.append(
            SliceMetrics(
                column=column,
                value=value,
                rows=len(index),
                mean_target=float(y.mean()),
                mean_prediction=float(p.mean()),
                mae=METRICS["mae"](y, p),
                mean_error=METRICS["mean_error"](y, p),
            )
        )
    return results


NO_SLICES = NO_ROW_SLICES
PLOTS = "predicted against true values, residuals against predictions, residual histogram"


def write_plots(
    labels: np.ndarray | pd.Series,
    scores: Scores,
    offline: OfflineMetrics,
    folder: Path,
    groups: np.ndarray | None = None,
) -> list[Path]:
    """Predicted vs true, residuals vs predicted, and the residuals' histogram, as PNG files."""
    from sklearn.metrics import PredictionErrorDisplay

    y, p = _arrays(labels, scores)
    # A bounded sample of points keeps the scatter plots readable and fast on large holdouts.
    shown = {"subsample": min(len(y), 2_000), "random_state": 0}

    def histogram(ax: Axes) -> None:
        ax.hist(p - y, bins=50)
        ax.set_xlabel("residual (predicted - true)")
        ax.set_ylabel("rows")

    drawings: dict[str, Drawing] = {
        "predicted_vs_true.png": lambda ax: PredictionErrorDisplay.from_predictions(
            y, p, kind="actual_vs_predicted", ax=ax, **shown
        ),
        "residuals_vs_predicted.png": lambda ax: PredictionErrorDisplay.from_predictions(
            y, p, kind="residual_vs_predicted", ax=ax, **shown
        ),
        "residual_histogram.png": histogram,
    }
    return write_figures(drawings, folder)


def evaluate(
    frame: pd.DataFrame,
    labels: pd.Series,
    scores: pd.Series | pd.DataFrame,
    slice_columns: list[str],
    offline: OfflineMetrics,
    groups: np.ndarray | None = None,
) -> Evaluation:
    return Evaluation(
        metrics=holdout_metrics(labels, scores, offline),
        slices=slice_metrics(frame, labels, scores, slice_columns),
    )


def card_notes(offline: OfflineMetrics) -> list[str]:
    """What the model card says about how these metrics were taken."""
    return [
        "Errors are in the target's own unit; `mape` is a share of the true value (NaN when a "
        "true value is 0 or below); `mean_error` above 0 means predictions run high."
    ]
