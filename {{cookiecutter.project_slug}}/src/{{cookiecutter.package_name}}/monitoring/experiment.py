"""The analysis of a trial: the champion against the version on trial, on the predictions each
answered (an A/B test) or made beside the champion (shadow), once their labels arrived.

The business metric (step 1's `experiment.metric`, by default the primary offline metric) is
measured per arm with the gate's metric functions. Its uncertainty comes from a bootstrap over
units, the records (or a ranking's queries, whose candidates are judged as one list): in an A/B
test each arm is resampled on its own, as its records are different ones; in shadow both models
scored the same records, so one resample serves both and the comparison is paired. The
decision follows step 1's rules: promote when the lower end of the interval of the challenger's
improvement clears `min_improvement`, roll back when its upper end is below zero, else keep the
champion (and let the trial gather more labels); wait while an arm has too few labels.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.exceptions import UndefinedMetricWarning

from ..contract import DataContract
from ..data.batches import write_json
from ..errors import ExpectedError
from ..requirements import ExperimentRules, OfflineMetrics
from ..serving.split import CHALLENGER_ARM, CHAMPION_ARM, SHADOW_ARM
from ..training.evaluation import metric_value, resampled_metric
from .drift import SCORE_COLUMN
from .online import LOGGED_AT

ARM = "arm"
Decision = Literal["promote", "keep", "roll_back", "wait"]


@dataclass(frozen=True)
class ArmResult:
    arm: str
    model_version: str
    labelled: int  # predictions of this arm whose label arrived
    value: float | None  # the metric on them


@dataclass(frozen=True)
class ExperimentAnalysis:
    rollout: str  # "ab" or "shadow"
    metric: str
    higher_is_better: bool
    champion: ArmResult
    challenger: ArmResult
    improvement: float | None  # challenger minus champion, signed so that above 0 is better
    interval: tuple[float, float] | None  # of the improvement, at `confidence`
    confidence: float
    decision: Decision
    reason: str
    finished_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    def headline(self) -> str:
        def side(result: ArmResult) -> str:
            value = "n/a" if result.value is None else f"{result.value:.4f}"
            return f"{result.arm} v{result.model_version} {value} ({result.labelled} labelled)"

        return (
            f"{self.metric}: {side(self.champion)} vs {side(self.challenger)} -> "
            f"{self.decision}: {self.reason}"
        )

    def to_record(self) -> dict[str, Any]:
        return asdict(self)


def _units(rows: pd.DataFrame, unit: str | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows sorted by unit; each unit's first position and its row count, in unit order."""
    if unit is None:
        ones = np.ones(len(rows), dtype=int)
        return np.arange(len(rows)), np.arange(len(rows)), ones
    codes, _ = pd.factorize(rows[unit].astype(str), sort=True)
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return order, starts, counts


def _expand(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The positions start..start+count-1 of each drawn unit, end to end."""
    offsets = np.repeat(np.cumsum(counts) - counts, counts)
    positions: np.ndarray = np.repeat(starts, counts) + np.arange(int(counts.sum())) - offsets
    return positions


class ArmSample:
    """One arm's labelled predictions, ready to be measured whole or on a resample of units."""

    def __init__(
        self, rows: pd.DataFrame, contract: DataContract, offline: OfflineMetrics, metric: str
    ) -> None:
        self.unit = contract.group_column
        self.offline, self.metric = offline, metric
        ordered = rows.sort_values(self.unit or contract.id_column or SCORE_COLUMN, kind="stable")
        positions, self.starts, self.counts = _units(ordered, self.unit)
        ordered = ordered.iloc[positions]
        self.labels = contract.encode_target(ordered[contract.target.name]).to_numpy(dtype=float)
        self.scores = contract.prediction.raw(ordered)  # what the task's metrics take
        # Resamples of rows (not of a ranking's queries) may have a faster measure than their
        # rows: counts per row instead of the rows (ROC-AUC, without a sort per resample).
        self.fast = (
            None if self.unit else resampled_metric(metric, self.labels, self.scores, offline)
        )

    @property
    def units(self) -> int:
        return len(self.starts)

    def measure(self, drawn: np.ndarray | None = None) -> float:
        """The metric on every row, or on the units at positions `drawn` (a unit drawn twice
        counts twice, as its own group)."""
        if drawn is not None and self.fast is not None:
            return self.fast(np.bincount(drawn, minlength=len(self.labels)))
        if drawn is None:
            rows = np.arange(len(self.labels))
            groups = None
            if self.unit:
                groups = np.repeat(np.arange(self.units), self.counts)
        else:
            counts = self.counts[drawn]
            rows = _expand(self.starts[drawn], counts)
            groups = np.repeat(np.arange(len(drawn)), counts) if self.unit else None
        with warnings.catch_warnings():  # a resample may hold one class: NaN, dropped below
            warnings.filterwarnings("ignore", category=UndefinedMetricWarning)
            value = metric_value(
                self.metric, self.labels[rows], self.scores[rows], self.offline, groups
            )
        return float(value)


def analyse(
    joined: pd.DataFrame,
    contract: DataContract,
    offline: OfflineMetrics,
    rules: ExperimentRules,
    rollout: str,
    seed: int = 0,
) -> ExperimentAnalysis:
    """The trial's verdict from the labelled predictions of both arms in `joined` (prediction
    log rows joined to their labels, with their `arm`)."""
    metric = rules.metric or offline.primary
    higher = _higher_is_better(metric, offline)
    other = SHADOW_ARM if rollout == "shadow" else CHALLENGER_ARM
    frames = {arm: joined[joined[ARM] == arm] for arm in (CHAMPION_ARM, other)}
    if rollout == "shadow":  # paired: only the records both models scored and got labels for
        key = contract.group_column or contract.id_column or ""
        both = set(frames[CHAMPION_ARM][key].astype(str)) & set(frames[other][key].astype(str))
        frames = {arm: rows[rows[key].astype(str).isin(both)] for arm, rows in frames.items()}
    samples = {arm: ArmSample(rows, contract, offline, metric) for arm, rows in frames.items()}
    results = {
        arm: ArmResult(
            arm=arm,
            model_version=_version(frames[arm]),
            labelled=len(frames[arm]),
            value=_number(samples[arm].measure()) if len(frames[arm]) else None,
        )
        for arm in frames
    }
    champion, challenger = results[CHAMPION_ARM], results[other]

    def verdict(decision: Decision, reason: str, **found: Any) -> ExperimentAnalysis:
        return ExperimentAnalysis(
            rollout=rollout,
            metric=metric,
            higher_is_better=higher,
            champion=champion,
            challenger=challenger,
            improvement=found.get("improvement"),
            interval=found.get("interval"),
            confidence=rules.confidence,
            decision=decision,
            reason=reason,
        )

    fewest = min(samples[CHAMPION_ARM].units, samples[other].units)
    if min(champion.labelled, challenger.labelled) < rules.min_labelled_per_arm or fewest < 2:
        return verdict(
            "wait",
            f"each arm needs {rules.min_labelled_per_arm} labelled predictions "
            f"(step 1's min_labelled_per_arm)",
        )
    if champion.value is None or challenger.value is None:
        return verdict("wait", f"{metric} cannot be measured on an arm yet")
    sign = 1.0 if higher else -1.0
    improvement = sign * (challenger.value - champion.value)
    differences = _bootstrap(samples[CHAMPION_ARM], samples[other], rollout, rules, seed) * sign
    differences = differences[~np.isnan(differences)]
    if len(differences) < rules.bootstrap_rounds // 2:
        return verdict("wait", f"{metric} is undefined on most resamples yet")
    tail = (1 - rules.confidence) / 2 * 100
    low, high = (float(v) for v in np.percentile(differences, [tail, 100 - tail]))
    shown = (
        f"improvement {improvement:+.4f}, {rules.confidence:.0%} interval [{low:+.4f}, {high:+.4f}]"
    )
    found = {"improvement": improvement, "interval": (low, high)}
    if low > rules.min_improvement:
        return verdict("promote", f"{shown} clears the margin {rules.min_improvement}", **found)
    if high < 0:
        return verdict("roll_back", f"{shown}: the challenger is worse", **found)
    return verdict("keep", f"{shown}: no difference shown yet", **found)


def _bootstrap(
    champion: ArmSample, challenger: ArmSample, rollout: str, rules: ExperimentRules, seed: int
) -> np.ndarray:
    """Challenger minus champion on each of `bootstrap_rounds` resamples of units: one shared
    resample when both scored the same units (shadow), independent ones otherwise."""
    random = np.random.default_rng(seed)
    paired = rollout == "shadow" and champion.units == challenger.units
    differences = np.empty(rules.bootstrap_rounds)
    for round_ in range(rules.bootstrap_rounds):
        drawn = random.integers(0, champion.units, champion.units)
        other = drawn if paired else random.integers(0, challenger.units, challenger.units)
        differences[round_] = challenger.measure(other) - champion.measure(drawn)
    return differences


def _higher_is_better(metric: str, offline: OfflineMetrics) -> bool:
    """The primary's direction is step 1's; the other metric names say theirs."""
    if metric == offline.primary:
        return offline.higher_is_better
    return metric not in LOWER_IS_BETTER


# Metrics, over all tasks, where smaller is better.
LOWER_IS_BETTER = frozenset(
    {
        "log_loss",
        "brier_score",
        "expected_calibration_error",
        "mae",
        "rmse",
        "mape",
        "median_absolute_error",
    }
)


def _version(rows: pd.DataFrame) -> str:
    versions: list[str] = sorted(rows["model_version"].astype(str).unique()) if len(rows) else []
    return ", ".join(versions) or "none"


def _number(value: float) -> float | None:
    return None if math.isnan(value) else value


class NoTrialError(ExpectedError):
    """There is no version on trial to analyse."""


def trial_rows(joined: pd.DataFrame, champion: str, trial: str, rollout: str) -> pd.DataFrame:
    """The labelled predictions of the trial: the champion's and the trial version's in their
    arms, from the trial's first logged prediction on (the champion's earlier traffic was
    another time, with other users: not comparable)."""
    if joined.empty:
        return joined
    other = SHADOW_ARM if rollout == "shadow" else CHALLENGER_ARM
    arms = joined.get(ARM, pd.Series(CHAMPION_ARM, index=joined.index)).fillna(CHAMPION_ARM)
    version = joined["model_version"].astype(str)
    in_trial = ((arms == CHAMPION_ARM) & (version == champion)) | (
        (arms == other) & (version == trial)
    )
    rows = joined[in_trial].assign(**{ARM: arms[in_trial]})
    started = rows.loc[rows[ARM] == other, LOGGED_AT]
    return rows[rows[LOGGED_AT] >= started.min()] if len(started) else rows.iloc[0:0]


@dataclass(frozen=True)
class ExperimentOutcome:
    analysis: ExperimentAnalysis
    trial_version: str
    report: str
    acted: str  # what the registry and the service were told

    def headline(self) -> str:
        text = f"v{self.trial_version} on trial: {self.analysis.headline()}; {self.acted}"
        return f"{text}\nReport: {self.report}"


def write_report(analysis: ExperimentAnalysis, directory: Path, trial: str) -> Path:
    """The analysis as JSON, and as Markdown a reviewer reads."""
    stamp = f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-v{trial}"
    write_json(analysis.to_record(), directory / f"{stamp}.json")
    lines = [
        f"# Trial of v{trial} ({analysis.rollout})",
        "",
        f"**Decision: {analysis.decision}**: {analysis.reason}",
        "",
        f"| arm | model version | labelled predictions | {analysis.metric} |",
        "|---|---|---|---|",
    ]
    for arm in (analysis.champion, analysis.challenger):
        value = "n/a" if arm.value is None else f"{arm.value:.4f}"
        lines.append(f"| {arm.arm} | v{arm.model_version} | {arm.labelled} | {value} |")
    direction = "higher" if analysis.higher_is_better else "lower"
    lines += [
        "",
        f"{analysis.metric}: {direction} is better. The interval is a {analysis.confidence:.0%} "
        "bootstrap interval of the challenger's improvement over resampled "
        + (
            "records both models scored (paired)."
            if analysis.rollout == "shadow"
            else "records of each arm."
        ),
    ]
    path = directory / f"{stamp}.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
