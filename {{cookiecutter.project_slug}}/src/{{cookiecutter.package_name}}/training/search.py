"""Parameter search for the candidate (`search_trials` above 0).

The training rows are split again by time, as the holdout was: each parameter set sampled from
the candidate's `SEARCH_SPACES` is fitted on the earlier rows and judged on the later ones by
step 1's primary metric, and the best is then fitted on all training rows. The holdout is never
seen, so it still judges the chosen model fairly.

Trials are independent: they run one after another here, or through joblib's Dask backend on
the cluster `dask_address` names. Each trial is seeded, so the choice is the same either way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..cluster import dask_client
from ..contract import DataContract
from ..errors import ExpectedError
from ..modeling import fit_model, predict_scores
from ..modeling.candidates import SEARCH_SPACES
from ..requirements import OfflineMetrics
from .dataset import Split, split_by_time
from .evaluation import holdout_metrics


class NoSearchSpaceError(ExpectedError):
    """Search was asked for a candidate without a search space."""


@dataclass(frozen=True)
class Trial:
    params: dict[str, Any]
    metric: float  # step 1's primary metric on the later part of the training rows


@dataclass(frozen=True)
class SearchResult:
    metric: str
    higher_is_better: bool
    trials: tuple[Trial, ...]

    @property
    def best(self) -> Trial:
        """The best trial; the first of equals, and any number before NaN."""
        sign = 1.0 if self.higher_is_better else -1.0
        ranked = [
            (not math.isnan(t.metric), sign * t.metric, -i) for i, t in enumerate(self.trials)
        ]
        return self.trials[ranked.index(max(ranked))]

    def summary(self) -> str:
        best = self.best
        return (
            f"searched {len(self.trials)} parameter sets by {self.metric}: best "
            f"{best.metric:.4f} with {best.params}"
        )


def parameter_sets(model_name: str, trials: int, seed: int) -> list[dict[str, Any]]:
    """`trials` sets sampled without repeats from the candidate's space (all of them when the
    space is smaller)."""
    from sklearn.model_selection import ParameterGrid, ParameterSampler

    space = SEARCH_SPACES.get(model_name)
    if not space:
        raise NoSearchSpaceError(
            f"search_trials is set but candidate {model_name!r} has no entry in SEARCH_SPACES "
            "(modeling/candidates.py)"
        )
    size = len(ParameterGrid(space))
    return [
        dict(params) for params in ParameterSampler(space, min(trials, size), random_state=seed)
    ]


def run_trial(
    model_name: str,
    params: dict[str, Any],
    inner: Split,
    contract: DataContract,
    offline: OfflineMetrics,
    seed: int,
) -> Trial:
    """Fit on the earlier training rows, judge on the later ones."""
    model = fit_model(model_name, inner.train, contract, seed, params)
    scores = predict_scores(model, inner.holdout, contract)
    metrics = holdout_metrics(inner.holdout_labels, scores, offline, inner.holdout_groups)
    return Trial(params=params, metric=float(metrics[offline.primary]))


def search(
    model_name: str,
    train: pd.DataFrame,
    contract: DataContract,
    offline: OfflineMetrics,
    trials: int,
    seed: int,
    holdout_fraction: float,
    dask_address: str | None = None,
) -> SearchResult:
    """Try `trials` parameter sets of candidate `model_name` on `train`; see the module."""
    from joblib import Parallel, delayed, parallel_config

    candidates = parameter_sets(model_name, trials, seed)
    inner = split_by_time(train, contract, holdout_fraction, seed)
    calls = [
        delayed(run_trial)(model_name, params, inner, contract, offline, seed)
        for params in candidates
    ]
    if dask_address is None:
        done: list[Trial] = Parallel(n_jobs=1)(calls)
    else:
        with dask_client(dask_address), parallel_config(backend="dask"):
            done = Parallel(n_jobs=-1)(calls)
    return SearchResult(
        metric=offline.primary, higher_is_better=offline.higher_is_better, trials=tuple(done)
    )
