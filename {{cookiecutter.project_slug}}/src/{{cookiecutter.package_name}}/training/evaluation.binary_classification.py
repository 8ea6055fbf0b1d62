"""Offline evaluation of a binary classifier: the metrics step 1 names, per-slice metrics,
diagnostic plots and the paired comparison the gate judges.

Everything here is a plain function of labels and scores, so the same code measures a new model,
the current champion on the same holdout, and (in monitoring) a model on labelled traffic.
Rows are judged one by one: the `groups` each function accepts (each row's query)
matter to a ranking only.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    f1_score,
    log_loss,
    precision_score,
    recall_score,
    roc_auc_score,
)

from ..contract.prediction import Scores
from ..requirements import OfflineMetrics
from .bootstrap import PairedBootstrap
from .judging import (
    NO_ROW_SLICES,
    DifferenceOfCounts,
    Evaluation,
    compare_rows,
    difference_of,
    segments,
)
from .plots import Drawing, write_figures

CALIBRATION_BINS = 10


def expected_calibration_error(
    labels: np.ndarray, scores: np.ndarray, bins: int = CALIBRATION_BINS
) -> float:
    """Mean gap between predicted and observed positive rate over equal-count score bins,
    weighted by bin size. Equal-count bins, because scores of a rare class crowd near zero."""
    order = np.argsort(scores, kind="stable")
    gaps = [
        abs(float(scores[part].mean()) - float(labels[part].mean())) * len(part)
        for part in np.array_split(order, bins)
        if len(part)
    ]
    return float(sum(gaps) / len(scores))


def _labels_and_probabilities(
    labels: np.ndarray | pd.Series, scores: Scores
) -> tuple[np.ndarray, np.ndarray]:
    """Labels as ints; scores kept off exact 0 and 1, where log loss is infinite."""
    return np.asarray(labels, dtype=int), np.clip(np.asarray(scores, dtype=float), 1e-7, 1 - 1e-7)


def _roc_auc(y: np.ndarray, p: np.ndarray) -> float:
    """NaN when only one class is present: ranking is undefined, not perfect or useless."""
    return float(roc_auc_score(y, p)) if len(np.unique(y)) == 2 else math.nan


MetricFunction = Callable[[np.ndarray, np.ndarray, float], float]

# Each metric of `requirements.MetricName` from labels, probabilities and the decision threshold.
METRICS: dict[str, MetricFunction] = {
    "precision": lambda y, p, t: float(precision_score(y, p >= t, zero_division=0)),
    "recall": lambda y, p, t: float(recall_score(y, p >= t, zero_division=0)),
    "f1": lambda y, p, t: float(f1_score(y, p >= t, zero_division=0)),
    "roc_auc": lambda y, p, t: _roc_auc(y, p),
    "pr_auc": lambda y, p, t: (
        float(average_precision_score(y, p)) if len(np.unique(y)) == 2 else float("nan")
    ),
    "log_loss": lambda y, p, t: float(log_loss(y, p, labels=[0, 1])),
    "brier_score": lambda y, p, t: float(brier_score_loss(y, p)),
    "expected_calibration_error": lambda y, p, t: expected_calibration_error(y, p),
}


def holdout_metrics(
    labels: np.ndarray | pd.Series,
    scores: Scores,
    offline: OfflineMetrics,
    groups: np.ndarray | None = None,
) -> dict[str, float]:
    """Every metric `requirements.MetricName` lists; ranking metrics are NaN on a single class.
    Precision, recall and F1 count a row as predicted positive from step 1's threshold."""
    y, p = _labels_and_probabilities(labels, scores)
    threshold = offline.decision_threshold
    return {name: compute(y, p, threshold) for name, compute in METRICS.items()}


def metric_value(
    name: str,
    labels: np.ndarray | pd.Series,
    scores: Scores,
    offline: OfflineMetrics,
    groups: np.ndarray | None = None,
) -> float:
    """One metric of `holdout_metrics`, alone: what a resampling loop computes many times
    (ROC-AUC from ranks: the same value as scikit-learn's, ties included, ~10x faster)."""
    y, p = _labels_and_probabilities(labels, scores)
    if name == "roc_auc":
        return rank_auc(y, p)
    return METRICS[name](y, p, offline.decision_threshold)


def rank_auc(y: np.ndarray, p: np.ndarray) -> float:
    """ROC-AUC as the Mann-Whitney statistic: the chance a positive outscores a negative."""
    positives = int(y.sum())
    negatives = len(y) - positives
    if positives == 0 or negatives == 0:
        return math.nan
    ranks = pd.Series(p).rank().to_numpy()  # ties share their mean rank
    return float((ranks[y == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def resampled_metric(
    name: str, labels: np.ndarray, scores: np.ndarray, offline: OfflineMetrics
) -> Callable[[np.ndarray], float] | None:
    """`metric_value` of resamples of these rows, each given as a count per row, where the task
    has a faster way than measuring the resampled rows (ROC-AUC: no sort per resample)."""
    if name != "roc_auc":
        return None
    y, p = _labels_and_probabilities(labels, scores)
    return AucOfResample(y, p)


class AucOfResample:
    """ROC-AUC of a resample of the rows given as a count per row, in O(n) a resample and with no
    sort: the order of the scores is worked out once. Only positive-negative pairs count
    (Mann-Whitney, a tie counts half), so each positive needs the resampled negatives that score
    below it and level with it, read off a running count of the negatives in score order."""

    def __init__(self, labels: np.ndarray, scores: np.ndarray) -> None:
        negatives = np.flatnonzero(labels == 0)
        self.negatives = negatives[np.argsort(scores[negatives], kind="stable")]
        self.positives = np.flatnonzero(labels == 1)
        ordered, positive_scores = scores[self.negatives], scores[self.positives]
        # Per positive: how many negatives, in score order, are below it / below or level.
        self.below = np.searchsorted(ordered, positive_scores, side="left")
        self.up_to_level = np.searchsorted(ordered, positive_scores, side="right")

    def __call__(self, counts: np.ndarray) -> float:
        running = np.zeros(len(self.negatives) + 1, dtype=np.int64)
        np.cumsum(counts[self.negatives], out=running[1:])
        positive_counts = counts[self.positives]
        pairs = int(positive_counts.sum()) * int(running[-1])
        if pairs == 0:
            return float("nan")
        # Integers throughout: twice each positive's share is (below) + (below or level).
        twice = int(positive_counts @ (running[self.below] + running[self.up_to_level]))
        return twice / (2 * pairs)


def compare(
    labels: np.ndarray | pd.Series,
    challenger: Scores,
    champion: Scores,
    offline: OfflineMetrics,
    seed: int,
    groups: np.ndarray | None = None,
) -> PairedBootstrap:
    """The paired bootstrap of the primary metric over the holdout's rows."""
    y, new = _labels_and_probabilities(labels, challenger)
    _, old = _labels_and_probabilities(labels, champion)
    compute, threshold = METRICS[offline.primary], offline.decision_threshold
    # ROC-AUC, the usual primary metric, takes O(n) a round instead of a sort: a resample is a
    # count per row, and the AUC with those counts as weights is the AUC of the resampled rows.
    by_counts: DifferenceOfCounts | None = None
    if offline.primary == "roc_auc":
        by_counts = difference_of(AucOfResample(y, new), AucOfResample(y, old))

    def primary(truth: np.ndarray, predicted: np.ndarray) -> float:
        return compute(truth, predicted, threshold)

    return compare_rows(y, new, old, primary, offline, seed, by_counts)


@dataclass(frozen=True)
class SliceMetrics:
    column: str
    value: str
    rows: int
    positive_rate: float
    mean_score: float
    roc_auc: float
    log_loss: float


def slice_metrics(
    frame: pd.DataFrame, labels: pd.Series, scores: pd.Series | pd.DataFrame, columns: list[str]
) -> list[SliceMetrics]:
    """Metrics per value of each categorical column (a device, a position)."""
    results = []
    for column, value, index in segments(frame, columns):
        y, p = _labels_and_probabilities(labels.loc[index], scores.loc[index])
        results.append(
            SliceMetrics(
                column=column,
                value=value,
                rows=len(index),
                positive_rate=float(y.mean()),
                mean_score=float(p.mean()),
                roc_auc=_roc_auc(y, p),
                log_loss=float(log_loss(y, p, labels=[0, 1])),
            )
        )
    return results


NO_SLICES = NO_ROW_SLICES
PLOTS = "confusion matrix, ROC, precision-recall and calibration curves"


def write_plots(
    labels: np.ndarray | pd.Series,
    scores: Scores,
    offline: OfflineMetrics,
    folder: Path,
    groups: np.ndarray | None = None,
) -> list[Path]:
    """Confusion matrix, ROC, precision-recall and reliability curves as PNG files."""
    from sklearn.calibration import CalibrationDisplay
    from sklearn.metrics import ConfusionMatrixDisplay, PrecisionRecallDisplay, RocCurveDisplay

    y = np.asarray(labels, dtype=int)
    p = np.asarray(scores, dtype=float)
    threshold = offline.decision_threshold
    drawings: dict[str, Drawing] = {
        "confusion_matrix.png": lambda ax: ConfusionMatrixDisplay.from_predictions(
            y, (p >= threshold).astype(int), ax=ax, colorbar=False
        ),
        "roc_curve.png": lambda ax: RocCurveDisplay.from_predictions(y, p, ax=ax),
        "precision_recall_curve.png": lambda ax: PrecisionRecallDisplay.from_predictions(
            y, p, ax=ax, drop_intermediate=True
        ),
        "calibration_curve.png": lambda ax: CalibrationDisplay.from_predictions(
            y, p, n_bins=CALIBRATION_BINS, strategy="quantile", ax=ax
        ),
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
    return [f"Precision, recall and F1 are taken at a score of {offline.decision_threshold}."]
