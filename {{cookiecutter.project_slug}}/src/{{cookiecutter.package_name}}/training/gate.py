"""The promotion gate: when a newly trained model may replace the champion.

A challenger becomes champion only if it meets every threshold in the requirements file AND
beats the current champion on the primary metric, both measured on the same holdout. Failing
the gate is a normal outcome with reasons, not an error.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..requirements import OfflineMetrics


@dataclass(frozen=True)
class PromotionDecision:
    promote: bool
    reasons: list[str] = field(default_factory=list)

    def summary(self) -> str:
        verdict = "promoted to champion" if self.promote else "not promoted"
        return f"{verdict}: " + "; ".join(self.reasons)


def decide_promotion(
    challenger: Mapping[str, float],
    champion: Mapping[str, float] | None,
    requirements: OfflineMetrics,
) -> PromotionDecision:
    """Judge `challenger` against the thresholds and, if there is one, the champion's metrics
    measured on the same holdout."""
    primary = requirements.primary
    new = float(challenger.get(primary, math.nan))
    reasons = requirements.failures(challenger)
    if math.isnan(new) and primary not in requirements.thresholds:
        reasons.append(f"the primary metric {primary} could not be measured")
    passed_thresholds = not reasons
    if passed_thresholds:
        reasons.append("meets every threshold in the requirements file")

    if champion is None:
        reasons.append("there is no champion yet")
        return PromotionDecision(promote=passed_thresholds, reasons=reasons)

    old = float(champion.get(primary, math.nan))
    better = new > old if requirements.higher_is_better else new < old
    if math.isnan(old):
        # A champion that cannot be measured on this holdout (say, the contract changed since
        # it was trained) cannot defend its title: the thresholds decide alone.
        better = True
        reasons.append(f"the champion's {primary} could not be measured on this holdout")
    elif better:
        reasons.append(f"{primary} {new:.4f} beats the champion's {old:.4f}")
    else:
        reasons.append(f"{primary} {new:.4f} does not beat the champion's {old:.4f}")
    return PromotionDecision(promote=passed_thresholds and better, reasons=reasons)
