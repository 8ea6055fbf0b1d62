"""A numeric column's limits as `contract infer` proposes them, for a feature or a target: hard
limits from the physical bounds the data shows, an expected range from robust percentiles."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

EXPECTED_QUANTILES = (0.01, 0.99)  # an expected range starts from these percentiles
EXPECTED_MARGIN = 0.5  # and is widened by this share of their span on each side


@dataclass(frozen=True)
class NumericBounds:
    """A numeric column's hard limits, its expected range, and the facts they came from."""

    low: float  # observed
    high: float
    hard: dict[str, float]
    expected: dict[str, float]
    why: str  # which physical bound the data shows, if any
    integral: bool

    @property
    def fields(self) -> dict[str, Any]:
        return self.hard | ({"expected": self.expected} if self.expected else {})

    def describe(self, distinct: int) -> str:
        parts = [f"observed in [{self.low:g}, {self.high:g}]"]
        if self.why:
            parts.append(self.why)
        if self.integral:
            parts.append("whole numbers (a float column because of how it is stored)")
        if distinct == 2:
            parts.append("two values: a binary indicator, kept as a number")
        if self.expected:
            low, high = self.expected.get("min"), self.expected.get("max")
            parts.append(
                f"expected in [{'' if low is None else f'{low:g}'}, "
                f"{'' if high is None else f'{high:g}'}] (percentiles "
                f"{EXPECTED_QUANTILES[0]:.0%}-{EXPECTED_QUANTILES[1]:.0%} widened by "
                f"{EXPECTED_MARGIN:.0%} of their span)"
            )
        return ", ".join(parts)


def numeric_bounds(present: pd.Series, kind: str) -> NumericBounds:
    """Hard limits from the physical bounds the data shows (never negative; a share in [0, 1];
    never positive), and an expected range from robust percentiles with `EXPECTED_MARGIN`."""
    numbers = present.astype(float)
    low, high = float(numbers.min()), float(numbers.max())
    # Only a sign is taken as physical: values in [0, 1] may be a share, or may not be (a
    # later batch of a real table held 1.058 in such a column), so the reviewer decides.
    hard: dict[str, float] = {}
    if low >= 0:
        hard, why = {"min": 0.0}, "never negative: hard minimum 0"
    elif high <= 0:
        hard, why = {"max": 0.0}, "never positive: hard maximum 0"
    else:
        why = ""
    if low >= 0 and high <= 1 and kind == "float":
        why += "; all within [0, 1]: if it is a share, add `max: 1`"
    q_low, q_high = (float(q) for q in numbers.quantile(list(EXPECTED_QUANTILES)))
    span = q_high - q_low or max(abs(q_high), 1.0)
    lower = max(q_low - EXPECTED_MARGIN * span, hard.get("min", -math.inf))
    upper = min(q_high + EXPECTED_MARGIN * span, hard.get("max", math.inf))
    expected: dict[str, float] = {}
    if kind == "int":
        expected = {"min": math.floor(lower), "max": math.ceil(upper)}
    else:
        expected = {"min": readable_bound(lower, "down"), "max": readable_bound(upper, "up")}
    # A side that only repeats a hard limit says nothing more.
    expected = {side: value for side, value in expected.items() if hard.get(side) != value}
    integral = kind == "float" and bool((numbers == numbers.round()).all())
    return NumericBounds(low, high, hard, expected, why, integral)


def readable_bound(value: float, direction: str) -> float:
    """A readable bound (4 significant digits) on the safe side of `value`."""
    if value == 0:
        return 0.0
    digits = 3 - math.floor(math.log10(abs(value)))
    scale = 10.0**digits
    rounded = (math.floor if direction == "down" else math.ceil)(value * scale) / scale
    return float(rounded)
