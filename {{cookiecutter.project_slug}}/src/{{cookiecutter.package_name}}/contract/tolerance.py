"""The contract's numeric rules applied to a frame without Great Expectations: what must hold
(`min`/`max`) and what is expected (the `expected` ranges, with the contract's tolerance).

Ingestion judges a batch with the GX suite built from the same fields (`data/validation.py`);
monitoring uses these functions to count, per window of served requests, the values a request
may carry (they are inside the hard limits, or the service answered 400) but that lie outside
the expected range: served, and flagged there.
"""

from __future__ import annotations

import pandas as pd

from .spec import DataContract


def outside(values: pd.Series, low: float | None, high: float | None) -> pd.Series:
    """Which of `values` lie below `low` or above `high` (an open side: None)."""
    numbers = pd.to_numeric(values, errors="coerce")
    mask = pd.Series(False, index=values.index)
    if low is not None:
        mask |= numbers < low
    if high is not None:
        mask |= numbers > high
    return mask


def outside_expected(frame: pd.DataFrame, contract: DataContract) -> dict[str, float]:
    """For each column of `frame` with an expected range, the share of its present values
    outside it (0.0 when all are inside)."""
    shares: dict[str, float] = {}
    for column in contract.columns:
        if column.expected is None or column.name not in frame.columns:
            continue
        values = pd.to_numeric(frame[column.name], errors="coerce").dropna()
        if not values.empty:
            expected = column.expected
            shares[column.name] = float(outside(values, expected.min, expected.max).mean())
    return shares


def beyond_tolerance(frame: pd.DataFrame, contract: DataContract) -> dict[str, float]:
    """The columns whose share outside the expected range exceeds the contract's tolerance:
    the batch would be refused."""
    return {
        name: share
        for name, share in outside_expected(frame, contract).items()
        if share > contract.tolerance
    }


def outside_limits(frame: pd.DataFrame, contract: DataContract) -> dict[str, int]:
    """For each column of `frame` with a hard `min` or `max`, how many values break it."""
    return {
        column.name: int(outside(frame[column.name], column.min, column.max).sum())
        for column in contract.columns
        if (column.min is not None or column.max is not None) and column.name in frame.columns
    }
