"""Offline evaluation of a multiclass classifier: the metrics step 1 names, per-class and
per-slice metrics, the confusion matrix, diagnostic plots and the paired comparison the gate
judges.

Labels are each class's position in the contract's `values`; scores are a probability per class,
a column per class in that order; the predicted class is the likeliest. Everything here is a plain
function of labels and scores, so the same code measures a new model, the current champion on
the same holdout, and (in monitoring) a model on labelled traffic. Rows are judged one by one:
the `groups` each function accepts matter to a ranking only.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import log_loss, top_k_accuracy_score

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


def _labels_and_probabilities(labels: Scores, scores: Scores) -> tuple[np.ndarray, np.ndarray]:
    """Labels as ints; probabilities as a row per record and a column per class, kept off
    exact 0 (where log loss is infinite) and renormalised."""
    y = np.asarray(labels, dtype=int)
    p = np.asarray(scores, dtype=float)
    if p.ndim != 2:
        raise ValueError(f"a multiclass score is a probability per class; got shape {p.shape}")
    p = np.clip(p, 1e-7, 1.0)
    return y, p / p.sum(axis=1, keepdims=True)


def confusion(
    y: np.ndarray, predicted: np.ndarray, classes: int, weights: Scores | None = None
) -> np.ndarray:
    """Counts of (true class, predicted class), a row per true class; `weights` counts each
    record that many times (a bootstrap resample given as counts)."""
    cells = np.bincount(y * classes + predicted, weights=weights, minlength=classes * classes)
    return np.asarray(cells, dtype=float).reshape(classes, classes)


def per_class(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each class's precision, recall and F1 from a confusion matrix (0 where undefined, as
    scikit-learn's `zero_division=0`)."""
    hits = np.diag(matrix)
    predicted, actual = matrix.sum(axis=0), matrix.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, hits / predicted, 0.0)
        recall = np.where(actual > 0, hits / actual, 0.0)
        f1 = np.where(hits > 0, 2 * hits / (predicted + actual), 0.0)
    return precision, recall, f1


def _present(matrix: np.ndarray) -> np.ndarray:
    """The classes a macro average is over: those present in the truth or the predictions (as
    scikit-learn averages over the labels it sees)."""
    return np.asarray((matrix.sum(axis=0) + matrix.sum(axis=1)) > 0)


def macro(values: np.ndarray, matrix: np.ndarray) -> float:
    present = _present(matrix)
    return float(values[present].mean()) if present.any() else math.nan


def _from_confusion(name: str, matrix: np.ndarray) -> float:
    """The metrics a confusion matrix holds, by name."""
    total = matrix.sum()
    if total == 0:
        return math.nan
    precision, recall, f1 = per_class(matrix)
    if name == "macro_f1":
        return macro(f1, matrix)
    if name == "macro_precision":
        return macro(precision, matrix)
    if name == "macro_recall":
        return macro(recall, matrix)
    if name == "weighted_f1":
        return float((f1 * matrix.sum(axis=1)).sum() / total)
    if name == "accuracy":
        return float(np.trace(matrix) / total)
    if name == "balanced_accuracy":  # the mean recall over the classes in the truth (sklearn's)
        in_truth = matrix.sum(axis=1) > 0
        return float(recall[in_truth].mean())
    raise KeyError(name)


CONFUSION_METRICS = (
    "macro_f1",
    "macro_precision",
    "macro_recall",
    "weighted_f1",
    "accuracy",
    "balanced_accuracy",
)
MetricFunction = Callable[[np.ndarray, np.ndarray, OfflineMetrics], float]


def _top_k(y: np.ndarray, p: np.ndarray, offline: OfflineMetrics) -> float:
    k = min(offline.top_k, p.shape[1])
    return float(top_k_accuracy_score(y, p, k=k, labels=np.arange(p.shape[1])))


def _of_confusion(name: str) -> MetricFunction:
    def compute(y: np.ndarray, p: np.ndarray, offline: OfflineMetrics) -> float:
        return _from_confusion(name, confusion(y, p.argmax(axis=1), p.shape[1]))

    return compute


# Each metric of `requirements.MetricName` from labels, probabilities and step 1's settings.
METRICS: dict[str, MetricFunction] = {
    **{name: _of_confusion(name) for name in CONFUSION_METRICS},
    "top_k_accuracy": _top_k,
    "log_loss": lambda y, p, offline: float(log_loss(y, p, labels=np.arange(p.shape[1]))),
}


def holdout_metrics(
    labels: Scores,
    scores: Scores,
    offline: OfflineMetrics,
    groups: np.ndarray | None = None,
) -> dict[str, float]:
    """Every metric `requirements.MetricName` lists (NaN on no rows)."""
    y, p = _labels_and_probabilities(labels, scores)
    if len(y) == 0:
        return dict.fromkeys(METRICS, math.nan)
    matrix = confusion(y, p.argmax(axis=1), p.shape[1])  # once, for every metric it holds
    return {
        name: _from_confusion(name, matrix) if name in CONFUSION_METRICS else compute(y, p, offline)
        for name, compute in METRICS.items()
    }


def metric_value(
    name: str,
    labels: Scores,
    scores: Scores,
    offline: OfflineMetrics,
    groups: np.ndarray | None = None,
) -> float:
    """One metric of `holdout_metrics`, alone: what a resampling loop computes many times."""
    y, p = _labels_and_probabilities(labels, scores)
    return METRICS[name](y, p, offline) if len(y) else math.nan


class ConfusionOfResample:
    """A confusion-matrix metric (macro F1, accuracy, ...) of a resample of the rows given as a
    count per row: the resample's confusion matrix is the rows' cells weighted by their counts,
    O(n) a resample and no argmax or sort per resample."""

    def __init__(self, name: str, labels: np.ndarray, scores: np.ndarray) -> None:
        self.name, self.classes = name, scores.shape[1]
        self.cells = labels.astype(int) * self.classes + scores.argmax(axis=1)

    def __call__(self, counts: np.ndarray) -> float:
        matrix = np.bincount(self.cells, weights=counts, minlength=self.classes**2)
        return _from_confusion(self.name, matrix.reshape(self.classes, self.classes))


def resampled_metric(
    name: str, labels: np.ndarray, scores: np.ndarray, offline: OfflineMetrics
) -> Callable[[np.ndarray], float] | None:
    """`metric_value` of resamples of these rows, each given as a count per row, for the
    metrics a confusion matrix holds."""
    if name not in CONFUSION_METRICS:
        return None
    y, p = _labels_and_probabilities(labels, scores)
    return ConfusionOfResample(name, y, p)


def compare(
    labels: Scores,
    challenger: Scores,
    champion: Scores,
    offline: OfflineMetrics,
    seed: int,
    groups: np.ndarray | None = None,
) -> PairedBootstrap:
    """The paired bootstrap of the primary metric over the holdout's rows."""
    y, new = _labels_and_probabilities(labels, challenger)
    _, old = _labels_and_probabilities(labels, champion)
    compute = METRICS[offline.primary]
    by_counts: DifferenceOfCounts | None = None
    if offline.primary in CONFUSION_METRICS:
        by_counts = difference_of(
            ConfusionOfResample(offline.primary, y, new),
            ConfusionOfResample(offline.primary, y, old),
        )

    def primary(truth: np.ndarray, predicted: np.ndarray) -> float:
        return compute(truth, predicted, offline)

    return compare_rows(y, new, old, primary, offline, seed, by_counts)


@dataclass(frozen=True)
class ClassMetrics:
    """One class on the holdout: how often it is the truth, and how well it is found."""

    class_index: int  # its position in the contract's `values` (the model card names it)
    support: int
    predicted: int
    precision: float
    recall: float
    f1: float


@dataclass(frozen=True)
class SliceMetrics:
    column: str
    value: str
    rows: int
    accuracy: float
    macro_f1: float
    log_loss: float


def class_metrics(y: np.ndarray, p: np.ndarray) -> tuple[list[ClassMetrics], np.ndarray]:
    matrix = confusion(y, p.argmax(axis=1), p.shape[1])
    precision, recall, f1 = per_class(matrix)
    rows = [
        ClassMetrics(
            class_index=k,
            support=int(matrix[k].sum()),
            predicted=int(matrix[:, k].sum()),
            precision=float(precision[k]),
            recall=float(recall[k]),
            f1=float(f1[k]),
        )
        for k in range(p.shape[1])
    ]
    return rows, matrix


def slice_metrics(
    frame: pd.DataFrame, labels: pd.Series, scores: pd.Series | pd.DataFrame, columns: list[str]
) -> list[SliceMetrics]:
    """Metrics per value of each categorical column (a surface, a language)."""
    results = []
    for column, value, index in segments(frame, columns):
        y, p = _labels_and_probabilities(labels.loc[index], scores.loc[index])
        matrix = confusion(y, p.argmax(axis=1), p.shape[1])
        results.append(
            SliceMetrics(
                column=column,
                value=value,
                rows=len(index),
                accuracy=_from_confusion("accuracy", matrix),
                macro_f1=_from_confusion("macro_f1", matrix),
                log_loss=float(log_loss(y, p, labels=np.arange(p.shape[1]))),
            )
        )
    return results


NO_SLICES = NO_ROW_SLICES
PLOTS = (
    "confusion matrix (counts and recall per true class), and each class's precision-recall curve"
)


def write_plots(
    labels: Scores,
    scores: Scores,
    offline: OfflineMetrics,
    folder: Path,
    groups: np.ndarray | None = None,
) -> list[Path]:
    """The confusion matrix (counts, and normalised per true class) and one-vs-rest
    precision-recall curves, as PNG files."""
    from sklearn.metrics import ConfusionMatrixDisplay, PrecisionRecallDisplay

    y, p = _labels_and_probabilities(labels, scores)
    predicted = p.argmax(axis=1)
    classes = np.arange(p.shape[1])

    def curves(ax: object) -> None:
        for k in classes:
            if (y == k).any():
                PrecisionRecallDisplay.from_predictions(
                    y == k, p[:, k], ax=ax, name=f"class {k}", drop_intermediate=True
                )

    drawings: dict[str, Drawing] = {
        "confusion_matrix.png": lambda ax: ConfusionMatrixDisplay.from_predictions(
            y, predicted, labels=classes, ax=ax, colorbar=False
        ),
        "confusion_matrix_recall.png": lambda ax: ConfusionMatrixDisplay.from_predictions(
            y, predicted, labels=classes, normalize="true", ax=ax, colorbar=False
        ),
        "precision_recall_curves.png": curves,
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
    y, p = _labels_and_probabilities(labels, scores)
    classes, matrix = class_metrics(y, p)
    return Evaluation(
        metrics=holdout_metrics(labels, scores, offline),
        slices=slice_metrics(frame, labels, scores, slice_columns),
        classes=classes,
        confusion=matrix.astype(int).tolist(),
    )


def card_notes(offline: OfflineMetrics) -> list[str]:
    """What the model card says about how these metrics were taken."""
    return [
        "The predicted class is the likeliest. Macro averages weigh every class the same, "
        f"however rare; `top_k_accuracy` counts a hit within the {offline.top_k} likeliest "
        "classes. Balanced class weights (a candidate's `class_weight`, which a parameter "
        "search tries) raise the rare classes' recall at the cost of their precision and of "
        "log loss."
    ]
