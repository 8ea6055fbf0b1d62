"""The promotion gate: thresholds from step 1 AND a better primary metric than the champion,
whichever way the primary metric points (step 1's `higher_is_better`)."""

from __future__ import annotations

import math
from typing import get_args

import pytest

from {{ cookiecutter.package_name }}.modeling.compiled import PARITY_TOLERANCE, Parity
from {{ cookiecutter.package_name }}.requirements import (
    MetricName,
    MetricThreshold,
    load_requirements,
)
from {{ cookiecutter.package_name }}.settings import Settings
from {{ cookiecutter.package_name }}.training.bootstrap import PairedBootstrap
from {{ cookiecutter.package_name }}.training.gate import decide_promotion

OFFLINE = load_requirements(Settings().requirements_file).offline_metrics
PRIMARY = OFFLINE.primary
SIGN = 1.0 if OFFLINE.higher_is_better else -1.0


def inside(threshold: MetricThreshold, by: float = 0.01) -> float:
    """A value `by` inside the threshold (above a minimum, below a maximum)."""
    return threshold.min + by if threshold.min is not None else threshold.max - by  # type: ignore[operator]


def outside(threshold: MetricThreshold) -> float:
    return threshold.min - 0.01 if threshold.min is not None else threshold.max + 0.01  # type: ignore[operator]


def passing(**overrides: float) -> dict[str, float]:
    """Metrics sitting just inside every threshold of the requirements file."""
    return {name: inside(t) for name, t in OFFLINE.thresholds.items()} | overrides


def primary(steps: float) -> dict[str, float]:
    """Passing metrics whose primary metric is `steps` hundredths better than the bare pass."""
    base = inside(OFFLINE.thresholds[PRIMARY], by=0.05)
    return passing(**{PRIMARY: base + SIGN * 0.01 * steps})


def test_first_model_meeting_every_threshold_is_promoted() -> None:
    decision = decide_promotion(passing(), None, OFFLINE)
    assert decision.promote
    assert "no champion" in decision.summary()


@pytest.mark.parametrize("metric", sorted(OFFLINE.thresholds))
def test_each_threshold_in_the_requirements_file_is_enforced(metric: str) -> None:
    missed = outside(OFFLINE.thresholds[metric])  # type: ignore[index]
    decision = decide_promotion(passing(**{metric: missed}), None, OFFLINE)
    assert not decision.promote
    assert any(reason.startswith(metric) for reason in decision.reasons)


def test_a_worse_challenger_does_not_replace_the_champion() -> None:
    decision = decide_promotion(primary(1), primary(2), OFFLINE)
    assert not decision.promote
    assert "does not clear the margin" in decision.summary()
    # A tie keeps the champion: retraining on the same data must not churn versions.
    assert not decide_promotion(primary(2), primary(2), OFFLINE).promote


def test_a_better_challenger_replaces_the_champion() -> None:
    decision = decide_promotion(primary(3), primary(1), OFFLINE)
    assert decision.promote
    assert "clears the margin" in decision.summary() and "does not" not in decision.summary()


def test_better_than_the_champion_is_not_enough_below_a_threshold() -> None:
    bar = OFFLINE.thresholds[PRIMARY]
    # A champion from before the bar was raised, and a challenger better than it, still short.
    champion = passing(**{PRIMARY: outside(bar) - SIGN * 0.05})
    decision = decide_promotion(passing(**{PRIMARY: outside(bar)}), champion, OFFLINE)
    assert not decision.promote


def test_the_direction_of_the_primary_metric_decides_what_better_is() -> None:
    flipped = OFFLINE.model_copy(update={"higher_is_better": not OFFLINE.higher_is_better})
    assert decide_promotion(primary(3), primary(1), OFFLINE).promote
    assert not decide_promotion(primary(3), primary(1), flipped).promote


def test_a_champion_that_cannot_be_measured_does_not_block() -> None:
    unmeasured = dict.fromkeys(passing(), math.nan)
    decision = decide_promotion(passing(), unmeasured, OFFLINE)
    assert decision.promote
    assert "could not be measured" in decision.summary()


def test_an_unmeasured_primary_metric_is_never_promoted() -> None:
    other = next(name for name in get_args(MetricName) if name not in OFFLINE.thresholds)
    no_threshold = OFFLINE.model_copy(update={"primary": other})
    decision = decide_promotion(passing(), None, no_threshold)
    assert not decision.promote
    assert f"{other} could not be measured" in decision.summary()


def test_floating_point_noise_is_not_an_improvement() -> None:
    """The retrain that was promoted on 0.9936284372904092 vs 0.9936284372904091."""
    value = primary(1)[PRIMARY]
    nudged = math.nextafter(value, math.inf * SIGN)
    decision = decide_promotion(passing(**{PRIMARY: nudged}), passing(**{PRIMARY: value}), OFFLINE)
    assert OFFLINE.min_improvement > 0
    assert not decision.promote


def interval(low: float, high: float) -> PairedBootstrap:
    """An interval of the improvement, given in the direction the metric improves."""
    bounds = sorted((SIGN * low, SIGN * high))
    return PairedBootstrap(PRIMARY, SIGN * (low + high) / 2, bounds[0], bounds[1], 0.95, 500, 42)


@pytest.mark.parametrize(
    ("low", "high", "promote"),
    [(0.1, 0.5, True), (-0.001, 0.5, False), (OFFLINE.min_improvement / 2, 0.5, False)],
)
def test_the_cautious_end_of_the_interval_must_clear_the_margin(
    low: float, high: float, promote: bool
) -> None:
    decision = decide_promotion(primary(3), primary(1), OFFLINE, interval(low, high))
    assert decision.promote is promote
    assert f"[{low:+.6f}, {high:+.6f}] over 500 resamples" in decision.summary()


@pytest.mark.parametrize("difference", [0.0, PARITY_TOLERANCE])
def test_a_compiled_path_that_agrees_does_not_block(difference: float) -> None:
    parity = Parity(rows=1_000, max_abs_diff=difference)
    assert decide_promotion(primary(3), primary(1), OFFLINE, parity=parity).promote


@pytest.mark.parametrize("difference", [PARITY_TOLERANCE * 1.01, 0.2, math.inf])
def test_a_compiled_path_that_disagrees_blocks_even_a_better_model(difference: float) -> None:
    decision = decide_promotion(
        primary(3), primary(1), OFFLINE, parity=Parity(rows=1_000, max_abs_diff=difference)
    )
    assert not decision.promote
    assert any("compiled scoring path disagrees" in reason for reason in decision.reasons)


def test_the_summary_says_first_what_decided_in_the_datas_words() -> None:
    """The decisive sentence comes before the figures: a holdout too small to show a gain is
    named as such (with its size), not left to be read out of an interval."""
    bounds = sorted((SIGN * -0.5, SIGN * 7.7))
    noisy = PairedBootstrap(PRIMARY, SIGN * 3.5, bounds[0], bounds[1], 0.95, 500, 42, units=88)
    decision = decide_promotion(primary(3), primary(1), OFFLINE, noisy, champion_name="v1")
    assert not decision.promote
    headline = decision.summary().split(" Reasons: ")[0]
    assert headline.startswith("not promoted: kept v1: the holdout (88 rows) cannot show")
    assert f"+3.5 {PRIMARY} improvement" in headline and "[-0.5, +7.7]" in headline
    assert "more rows" in headline

    first = decide_promotion(passing(), None, OFFLINE)
    assert first.summary().startswith("promoted to champion: the first model to meet step 1")
    name, threshold = next(iter(OFFLINE.thresholds.items()))
    failing = passing(**{name: outside(threshold)})
    missed = decide_promotion(failing, primary(1), OFFLINE, champion_name="v4")
    assert missed.summary().startswith("not promoted: kept v4: the new model misses step 1")
    clear = decide_promotion(primary(3), primary(1), OFFLINE, interval(0.1, 0.5))
    assert clear.summary().startswith("promoted to champion: beats the champion")
