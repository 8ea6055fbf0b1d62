"""The paired bootstrap behind the promotion gate, whatever the task's primary metric.

Both models are scored on the same holdout; each round resamples its units (rows, or whole
groups for a task that has them) with replacement and measures the primary metric's difference,
challenger minus champion, on that resample. The interval is the percentiles of those
differences: an improvement the holdout can show has a lower end above the margin.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PairedBootstrap:
    """The primary metric's difference, challenger minus champion, on the same holdout, with a
    percentile interval over resamples of it (both models scored on each)."""

    metric: str
    difference: float
    low: float
    high: float
    confidence: float
    rounds: int
    seed: int
    units: int = 0  # what was resampled: the holdout's rows (or a ranking's queries)
    unit: str = "rows"


# The difference on a resample given as the units it drew (indices, repeats allowed), or on
# the whole holdout when given None.
Difference = Callable[[np.ndarray | None], float]


def paired_bootstrap(
    metric: str,
    units: int,
    difference: Difference,
    rounds: int,
    confidence: float,
    seed: int,
    unit: str = "rows",
) -> PairedBootstrap:
    random = np.random.default_rng(seed)
    differences = np.array(
        [difference(random.integers(0, units, units)) for _ in range(rounds)], dtype=float
    )
    tail = (1 - confidence) / 2 * 100
    low, high = np.nanpercentile(differences, [tail, 100 - tail])
    return PairedBootstrap(
        metric=metric,
        difference=difference(None),
        low=float(low),
        high=float(high),
        confidence=confidence,
        rounds=rounds,
        seed=seed,
        units=units,
        unit=unit,
    )
