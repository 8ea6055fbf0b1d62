"""The offline metrics a ranking can be held to: the names step 1 may use, and how each is
computed per query (training judges a model with them; `contract infer` takes the floor a random
ranking scores as its starting bar)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from pydantic import BaseModel, Field

# Each is the mean over the holdout's queries that have a relevant candidate; `_at_k` metrics
# look at the top `k` of each query's ranking.
MetricName = Literal["ndcg_at_k", "mrr", "map_at_k", "precision_at_k", "ndcg"]


class TaskOfflineMetrics(BaseModel):
    """Offline-metric settings only a ranking has."""

    # How many of a query's top-ranked candidates a user is assumed to look at (`*_at_k`).
    k: int = Field(default=5, ge=1, le=1000)


# Groups, grades and scores: arrays, Series or plain lists, one value per row.
Array = ArrayLike
# The cut-off of `ndcg` (no `_at_k`): the whole list, however long.
WHOLE_LIST = 1_000_000


@dataclass(frozen=True)
class Ranked:
    """A holdout in ranked order: rows sorted by group, then score (highest first)."""

    group: np.ndarray  # 0..groups-1
    grade: np.ndarray
    rank: np.ndarray  # 1 is the top of its group
    groups: int

    @cached_property
    def ideal(self) -> Ranked:
        """The same rows in the best order (by grade within each group): NDCG's denominator,
        computed once however many cut-offs are taken."""
        return ranked(self.group, self.grade, self.grade)


def ranked(groups: Array, labels: Array, scores: Array) -> Ranked:
    codes = pd.factorize(np.asarray(groups))[0]
    grade = np.asarray(labels, dtype=float)
    score = np.asarray(scores, dtype=float)
    order = np.lexsort((np.arange(len(codes)), -score, codes))
    codes, grade = codes[order], grade[order]
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]]) if len(codes) else codes
    sizes = np.diff(np.r_[starts, len(codes)])
    rank = np.arange(len(codes)) - np.repeat(starts, sizes) + 1
    return Ranked(group=codes, grade=grade, rank=rank, groups=int(codes.max(initial=-1)) + 1)


def _per_group_sum(ranking: Ranked, values: np.ndarray) -> np.ndarray:
    return np.bincount(ranking.group, weights=values, minlength=ranking.groups)


def ndcg_per_group(ranking: Ranked, k: int) -> np.ndarray:
    """NDCG@k of each group (exponential gain 2^grade - 1), NaN where nothing is relevant."""
    gain = (2.0**ranking.grade - 1.0) / np.log2(ranking.rank + 1.0)
    dcg = _per_group_sum(ranking, np.where(ranking.rank <= k, gain, 0.0))
    ideal = ranking.ideal
    ideal_gain = (2.0**ideal.grade - 1.0) / np.log2(ideal.rank + 1.0)
    idcg = _per_group_sum(ideal, np.where(ideal.rank <= k, ideal_gain, 0.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(idcg > 0, dcg / idcg, np.nan)


def reciprocal_rank_per_group(ranking: Ranked) -> np.ndarray:
    """1 / the rank of each group's first relevant candidate, NaN where nothing is relevant."""
    first = np.full(ranking.groups, np.inf)
    relevant = ranking.grade > 0
    np.minimum.at(first, ranking.group[relevant], ranking.rank[relevant])
    return np.where(np.isfinite(first), 1.0 / first, np.nan)


def precision_per_group(ranking: Ranked, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Precision@k and average precision@k of each group, NaN where nothing is relevant."""
    relevant = (ranking.grade > 0).astype(float)
    in_top = ranking.rank <= k
    total = _per_group_sum(ranking, relevant)
    hits = _per_group_sum(ranking, relevant * in_top)
    # Relevant candidates at or above each row, within its group: a running count over all
    # rows, less the count before the group's first row.
    running = np.cumsum(relevant)
    hits_so_far = running - np.r_[0.0, running][np.arange(len(relevant)) - ranking.rank + 1]
    precision_here = np.where(in_top & (relevant > 0), hits_so_far / ranking.rank, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        average = _per_group_sum(ranking, precision_here) / np.minimum(total, k)
        has_relevant = total > 0
        return np.where(has_relevant, hits / k, np.nan), np.where(has_relevant, average, np.nan)


def per_group(groups: Array, labels: Array, scores: Array, k: int) -> dict[str, np.ndarray]:
    """Every metric of `requirements.MetricName`, one value per group (NaN: nothing relevant)."""
    ranking = ranked(groups, labels, scores)
    precision, average_precision = precision_per_group(ranking, k)
    return {
        "ndcg_at_k": ndcg_per_group(ranking, k),
        "mrr": reciprocal_rank_per_group(ranking),
        "map_at_k": average_precision,
        "precision_at_k": precision,
        "ndcg": ndcg_per_group(ranking, WHOLE_LIST),
    }


def group_mean(values: np.ndarray) -> float:
    judged = values[~np.isnan(values)]
    return float(judged.mean()) if len(judged) else math.nan


def random_rankings(groups: Array, labels: Array, draws: int, seed: int = 0) -> list[Ranked]:
    """`draws` random orders of each group's rows, seeded."""
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    return [ranked(groups, labels, rng.random(len(labels))) for _ in range(draws)]


def mean_ndcg(rankings: list[Ranked], k: int) -> float:
    return float(np.mean([group_mean(ndcg_per_group(ranking, k)) for ranking in rankings]))


def random_ndcg(groups: Array, labels: Array, k: int, draws: int = 20, seed: int = 0) -> float:
    """The NDCG@k that ranking each group at random scores on average: the floor."""
    return mean_ndcg(random_rankings(groups, labels, draws, seed), k)
