"""The promotion gate: when a newly trained model may replace the champion.

A challenger becomes champion only if it meets every threshold in the requirements file AND
beats the current champion on the primary metric, both measured on the same holdout, AND its
compiled scoring path (if it has one) scores that holdout as its pipeline does. Failing the
gate is a normal outcome with reasons, not an error.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..modeling.compiled import PARITY_TOLERANCE, Parity
from ..requirements import OfflineMetrics
from .bootstrap import PairedBootstrap


@dataclass(frozen=True)
class PromotionDecision:
    promote: bool
    reasons: list[str] = field(default_factory=list)
    # "ab" or "shadow": it passed, and step 1 puts it on trial beside the champion first.
    trial: str | None = None

    # What decided, first, in the data's words (the reasons follow with every figure).
    headline: str = ""

    def summary(self) -> str:
        verdict = "promoted to champion" if self.promote else "not promoted"
        if self.promote and self.trial:
            verdict = f"passed the gate, on trial ({TRIALS[self.trial]}) until `experiment` decides"
        decided = f" {self.headline}." if self.headline else ""
        return f"{verdict}:{decided} Reasons: " + "; ".join(self.reasons)


TRIALS = {"ab": "an A/B test", "shadow": "in shadow"}


def decide_promotion(
    challenger: Mapping[str, float],
    champion: Mapping[str, float] | None,
    requirements: OfflineMetrics,
    comparison: PairedBootstrap | None = None,
    parity: Parity | None = None,
    champion_name: str = "",
) -> PromotionDecision:
    """Judge `challenger` against the thresholds and, if there is one, the champion measured on
    the same holdout: the primary metric must improve by more than `min_improvement`, judged
    at the cautious end of `comparison` (the paired bootstrap interval) when there is one.
    A compiled scoring path that disagrees with the pipeline (`parity`) blocks promotion: the
    service would not serve the model that was judged."""
    primary = requirements.primary
    new = float(challenger.get(primary, math.nan))
    reasons = requirements.failures(challenger)
    if math.isnan(new) and primary not in requirements.thresholds:
        reasons.append(f"the primary metric {primary} could not be measured")
    if parity is not None and not parity.agrees:
        reasons.append(
            f"its compiled scoring path disagrees with its pipeline: largest difference "
            f"{parity.max_abs_diff:.3g} on {parity.rows} holdout rows (at most "
            f"{PARITY_TOLERANCE:g})"
        )
    passed_thresholds = not reasons
    missed = "; ".join(reasons)
    if passed_thresholds:
        reasons.append("meets every threshold in the requirements file")

    kept = f"kept {champion_name}" if champion_name else "kept the champion"
    if champion is None:
        reasons.append("there is no champion yet")
        headline = (
            "the first model to meet step 1's thresholds"
            if passed_thresholds
            else f"no champion yet, and this model misses step 1: {missed}"
        )
        return PromotionDecision(promote=passed_thresholds, reasons=reasons, headline=headline)
    headline = f"{kept}: the new model misses step 1: {missed}"

    old = float(champion.get(primary, math.nan))
    margin = requirements.min_improvement
    if math.isnan(old):
        # A champion that cannot be measured on this holdout (say, the contract changed since
        # it was trained) cannot defend its title: the thresholds decide alone.
        better = True
        reasons.append(f"the champion's {primary} could not be measured on this holdout")
    else:
        sign = 1.0 if requirements.higher_is_better else -1.0
        if comparison is None:
            cautious = sign * (new - old)
            evidence = f"improvement {cautious:+.6f}"
        else:
            low, high = sorted((sign * comparison.low, sign * comparison.high))
            cautious = low
            evidence = (
                f"improvement {sign * comparison.difference:+.6f}, "
                f"{comparison.confidence:.0%} paired bootstrap interval [{low:+.6f}, {high:+.6f}] "
                f"over {comparison.rounds} resamples"
            )
        better = cautious > margin
        verdict = "clears" if better else "does not clear"
        reasons.append(
            f"{primary} {new:.6f} vs the champion's {old:.6f}: {evidence}; "
            f"{verdict} the margin {margin:g}"
        )
        if passed_thresholds:
            headline = _compared(primary, sign, new - old, comparison, margin, better, kept)
    if math.isnan(old) and passed_thresholds:
        headline = "the champion cannot be measured on this holdout, and the new model meets step 1"
    return PromotionDecision(
        promote=passed_thresholds and better, reasons=reasons, headline=headline
    )


def _compared(
    primary: str,
    sign: float,
    change: float,
    comparison: PairedBootstrap | None,
    margin: float,
    better: bool,
    kept: str,
) -> str:
    """The comparison with the champion as one sentence a person reads first."""
    gain = sign * change
    word = "improvement" if gain > 0 else "change"
    if comparison is None:
        shown = f"{primary} {word} of {gain:+.3g} on the holdout"
        return (
            f"beats the champion: {shown}, above the margin {margin:g}"
            if better
            else f"{kept}: {shown} does not clear the margin {margin:g}"
        )
    gain = sign * comparison.difference
    word = "improvement" if gain > 0 else "change"
    low, high = sorted((sign * comparison.low, sign * comparison.high))
    holdout = f"the holdout ({comparison.units} {comparison.unit})" if comparison.units else ""
    interval = f"{comparison.confidence:.0%} interval [{low:+.3g}, {high:+.3g}]"
    if better:
        return (
            f"beats the champion: {primary} {word} of {gain:+.3g}, and even the cautious end of "
            f"its {interval} clears the margin {margin:g}"
        )
    if gain <= margin:
        return f"{kept}: the new model is no better on {primary} ({gain:+.3g}, {interval})"
    short = (
        "includes no gain" if low <= 0 else f"starts at {low:+.3g}, within the margin {margin:g}"
    )
    return (
        f"{kept}: {holdout or 'the holdout'} cannot show the {gain:+.3g} {primary} {word} "
        f"(its {interval} {short}); more rows in the holdout would"
    )
