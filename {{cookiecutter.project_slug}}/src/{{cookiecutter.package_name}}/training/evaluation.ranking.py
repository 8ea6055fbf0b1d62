"""Offline evaluation of a ranking: the metrics step 1 names, per-slice quality, plots and the
paired comparison the gate judges.

A ranking is judged query by query: each group's candidates are ordered by score (highest
first; ties keep their given order), each metric is taken per group, and the reported value is
its mean over the groups that hold a relevant candidate (a group where nothing was relevant
has no defined NDCG, MRR or AP, and every ranking of it is as good). The unit of the paired
bootstrap is therefore the group, never the row.

Everything here is a plain function of groups, grades and scores, so the same code measures a
new model, the current champion on the same holdout, and (in monitoring) a model on labelled
traffic.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..requirements import OfflineMetrics
from ..requirements.metrics import (
    Array,
    group_mean,
    mean_ndcg,
    per_group,
    random_rankings,
    ranked,
)
from .bootstrap import PairedBootstrap, paired_bootstrap
from .judging import Evaluation
from .plots import Drawing, write_figures

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def _need_groups(groups: Array | None) -> Array:
    if groups is None:
        raise ValueError("a ranking is judged per group: pass each row's group")
    return groups


def holdout_metrics(
    labels: Array, scores: Array, offline: OfflineMetrics, groups: Array | None = None
) -> dict[str, float]:
    """Every metric `requirements.MetricName` lists: means over the groups with a relevant
    candidate (NaN when there is none)."""
    values = per_group(_need_groups(groups), labels, scores, offline.k)
    return {name: group_mean(per) for name, per in values.items()}


def metric_value(
    name: str, labels: Array, scores: Array, offline: OfflineMetrics, groups: Array | None = None
) -> float:
    """One metric of `holdout_metrics`, alone: what a resampling loop computes many times."""
    return group_mean(per_group(_need_groups(groups), labels, scores, offline.k)[name])


def resampled_metric(
    name: str, labels: Array, scores: Array, offline: OfflineMetrics
) -> Callable[[np.ndarray], float] | None:
    """A faster way to measure resamples than measuring their rows: none here (queries are
    resampled whole, and each is measured as a list)."""
    return None


def compare(
    labels: Array,
    challenger: Array,
    champion: Array,
    offline: OfflineMetrics,
    seed: int,
    groups: Array | None = None,
) -> PairedBootstrap:
    """The paired bootstrap of the primary metric over the holdout's groups: each resample
    draws whole groups, and both models are judged on the same draw."""
    groups = _need_groups(groups)
    new = per_group(groups, labels, challenger, offline.k)[offline.primary]
    old = per_group(groups, labels, champion, offline.k)[offline.primary]
    judged = ~np.isnan(new) & ~np.isnan(old)
    gain = np.where(judged, new - old, 0.0)

    def difference(units: np.ndarray | None) -> float:
        if units is None:
            return float(gain[judged].mean()) if judged.any() else math.nan
        # The mean over drawn groups with a relevant candidate, in O(groups) a round.
        counts = np.bincount(units, minlength=len(gain))
        drawn = float(counts @ judged)
        return float(counts @ gain) / drawn if drawn else math.nan

    return paired_bootstrap(
        offline.primary,
        len(gain),
        difference,
        offline.bootstrap_rounds,
        offline.bootstrap_confidence,
        seed,
        unit="queries",
    )


@dataclass(frozen=True)
class SliceMetrics:
    column: str
    value: str
    groups: int
    rows: int
    relevant_share: float
    ndcg_at_k: float
    mrr: float


def query_columns(frame: pd.DataFrame, columns: list[str], groups: Array) -> list[str]:
    """The columns that hold one value per group: only those slice a ranking (an event's
    category differs within one request, so it cannot split the requests)."""
    codes = pd.Series(np.asarray(groups), index=frame.index)
    return [
        column
        for column in columns
        if (frame[column].groupby(codes).nunique(dropna=False) <= 1).all()
    ]


def slice_metrics(
    frame: pd.DataFrame,
    labels: pd.Series,
    scores: pd.Series | pd.DataFrame,
    columns: list[str],
    k: int,
    groups: Array,
) -> list[SliceMetrics]:
    """Quality per value of each query-level categorical column: a ranker can be good on
    average and poor for one city or device, and the gate's averages would not show it."""
    codes = np.asarray(groups)
    results = []
    for column in query_columns(frame, columns, codes):
        for value, index in frame.groupby(column, observed=True).groups.items():
            rows = frame.index.get_indexer(index)
            values = per_group(codes[rows], labels.iloc[rows], scores.iloc[rows], k)
            results.append(
                SliceMetrics(
                    column=column,
                    value=str(value),
                    groups=len(np.unique(codes[rows])),
                    rows=len(rows),
                    relevant_share=float((labels.iloc[rows] > 0).mean()),
                    ndcg_at_k=group_mean(values["ndcg_at_k"]),
                    mrr=group_mean(values["mrr"]),
                )
            )
    return results


# What the model card says when there is nothing to slice by.
NO_SLICES = (
    "No category feature holds one value per query, so there are no segments of queries to "
    "slice by; only the overall metrics above."
)
PLOTS = "NDCG@k for k from 1 to 20 (model and random order), score by relevance grade"


def write_plots(
    labels: Array,
    scores: Array,
    offline: OfflineMetrics,
    folder: Path,
    groups: Array | None = None,
) -> list[Path]:
    """NDCG at each cut-off against a random order, and the scores of each grade, as PNGs."""
    groups = _need_groups(groups)
    grades, values = np.asarray(labels), np.asarray(scores, dtype=float)
    cutoffs = np.arange(1, 21)

    def ndcg_by_cutoff(ax: Axes) -> None:
        # Each order is ranked once and cut at every k.
        model, chance = [ranked(groups, grades, values)], random_rankings(groups, grades, draws=5)
        ax.plot(cutoffs, [mean_ndcg(model, int(k)) for k in cutoffs], marker="o", label="model")
        chance_ndcg = [mean_ndcg(chance, int(k)) for k in cutoffs]
        ax.plot(cutoffs, chance_ndcg, linestyle="--", label="random order")
        ax.axvline(offline.k, color="grey", linewidth=0.8)
        ax.set_xlabel("k (candidates looked at)")
        ax.set_ylabel("mean NDCG@k")
        ax.set_ylim(0, 1)
        ax.legend()

    def score_by_grade(ax: Axes) -> None:
        levels = np.unique(grades)
        ax.boxplot([values[grades == level] for level in levels], showfliers=False)
        ax.set_xticks(range(1, len(levels) + 1), [str(level) for level in levels])
        ax.set_xlabel("relevance grade")
        ax.set_ylabel("score")

    drawings: dict[str, Drawing] = {
        "ndcg_by_cutoff.png": ndcg_by_cutoff,
        "score_by_grade.png": score_by_grade,
    }
    return write_figures(drawings, folder)


def evaluate(
    frame: pd.DataFrame,
    labels: pd.Series,
    scores: pd.Series | pd.DataFrame,
    slice_columns: list[str],
    offline: OfflineMetrics,
    groups: Array | None = None,
) -> Evaluation:
    groups = _need_groups(groups)
    return Evaluation(
        metrics=holdout_metrics(labels, scores, offline, groups),
        slices=slice_metrics(frame, labels, scores, slice_columns, offline.k, groups),
    )


def card_notes(offline: OfflineMetrics) -> list[str]:
    """What the model card says about how these metrics were taken."""
    return [
        f"Each metric is the mean over held-out queries with a relevant candidate; `_at_k` "
        f"metrics look at each query's top {offline.k}. NDCG uses gain 2^grade - 1; MRR, MAP and "
        "precision count a grade above 0 as relevant."
    ]
