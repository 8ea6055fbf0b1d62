"""Drift between a reference window (the champion's training data) and a current window, with
Evidently, and the action step 1's thresholds call for.

Each side is first cut to a bounded random sample (`sample_rows`, 20k by default). The tests are
the two-sample Kolmogorov-Smirnov test for numeric columns and a two-sample chi-squared test
(`stattests.py`) for categorical ones, judged at step 1's p-value. A p-value depends on the
sample size as much as on the shift: on 1M rows a negligible shift is "significant". At a fixed
sample size the smallest shift the test flags is fixed (a KS distance of ~0.014 at 20k rows a
side, alpha 0.05), so the verdict means the same for a 5k-row window and a 5M-row one, and the
cost no longer grows with the window.
`bench/monitoring.py` checks the verdicts against the full computation.

Where the contract has a group column (a ranking's query), samples hold whole groups, so a
query's list can be judged as a list, and a query-level feature (the same on every row of its
query) is tested once per query: counted once per row, a 20-row query would weigh as 20
independent draws and make chance differences look significant.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import numpy as np
import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.core.report import Snapshot
from evidently.metrics import MeanValue, RowCount, ValueDrift
from evidently.presets import DataDriftPreset, DataSummaryPreset
from sklearn.exceptions import UndefinedMetricWarning

from ..contract import DataContract
from ..contract.prediction import has_prediction
from ..contract.target import PREDICTION
from ..requirements.spec import DriftThresholds
from . import quality
from .stattests import TWO_SAMPLE_CHISQUARE

# The score every summary shows (a mean, a drift test): the first of the task's prediction
# fields (`contract/prediction.py`).
SCORE_COLUMN = PREDICTION.fields[0]
logger = logging.getLogger(__name__)
DRIFT_TAG = "drift"  # on the dashboard: a monitoring run's snapshot, not an online window
NUMERIC_TEST = "ks"
# A test of two samples (`stattests.py`): Evidently's "chisquare" takes the reference as exact.
CATEGORICAL_TEST = TWO_SAMPLE_CHISQUARE

Action = Literal["none", "alert", "retrain", "too_few_rows"]


@dataclass(frozen=True)
class DriftSummary:
    """What one comparison found, in plain numbers (the Evidently snapshot has the detail)."""

    reference_rows: int
    current_rows: int
    compared_rows: tuple[int, int]
    p_values: dict[str, float]
    drifted_features: list[str]
    drift_share: float
    prediction_drift: bool | None
    target_drift: bool | None
    metrics: dict[str, float] = field(default_factory=dict)

    @classmethod
    def not_compared(cls, current_rows: int) -> DriftSummary:
        """A window too small to judge: nothing was compared."""
        return cls(
            reference_rows=0,
            current_rows=current_rows,
            compared_rows=(0, 0),
            p_values={},
            drifted_features=[],
            drift_share=0.0,
            prediction_drift=None,
            target_drift=None,
        )


def bounded_sample(
    frame: pd.DataFrame, max_rows: int, seed: int, group: str | None = None
) -> pd.DataFrame:
    """At most `max_rows` rows, drawn uniformly without replacement (all rows if fewer); with a
    `group` column, whole groups drawn in a random order until the next would not fit."""
    if len(frame) <= max_rows:
        return frame
    if group is None or group not in frame.columns:
        return frame.sample(n=max_rows, random_state=seed)
    return frame[frame[group].isin(chosen_groups(frame[group], max_rows, seed))]


def chosen_groups(group: pd.Series, max_rows: int, seed: int) -> pd.Index:
    """The groups `bounded_sample` keeps: in a seeded random order, until the next would not
    fit in `max_rows` rows."""
    sizes = group.value_counts(sort=False, dropna=False).sample(frac=1, random_state=seed)
    return sizes.index[sizes.cumsum() <= max_rows]


def sampled_positions(rows: int, max_rows: int, seed: int) -> np.ndarray:
    """The row positions, in draw order, `bounded_sample` takes without groups from `rows`
    rows: as pandas' `DataFrame.sample` draws them (a RandomState seeded with `seed`)."""
    return np.random.RandomState(seed).choice(rows, size=max_rows, replace=False)


def once_per_query(frame: pd.DataFrame, contract: DataContract) -> pd.DataFrame:
    """Query-level features kept on each query's first row only (missing on the others, which
    the drift tests leave out), so each query counts once."""
    group = contract.group_column
    columns = [c.name for c in contract.features if c.level == "query" and c.name in frame]
    if group is None or group not in frame.columns or not columns:
        return frame
    repeated = frame[group].duplicated() & frame[group].notna()
    return frame.assign(**{name: frame[name].mask(repeated) for name in columns})


def data_definition(contract: DataContract, columns: pd.Index) -> DataDefinition:
    """Evidently's column mapping, from the contract: numeric and categorical features, the
    score as the prediction, and the target when the window has labels (`quality.py` says how
    the task maps them)."""
    target = contract.target.name
    shape = contract.prediction
    has_score, has_target = has_prediction(columns, shape), target in columns
    task = quality.task_definition(contract, SCORE_COLUMN) if has_score and has_target else {}
    labelled = [target] if has_target else []
    roles = [(c.name, c.definition.drift_role) for c in contract.features]
    return DataDefinition(
        id_column=contract.id_column if contract.id_column in columns else None,
        numerical_columns=[name for name, role in roles if role == "numerical"]
        + (list(shape.drift_columns) if has_score else [])
        + ([] if quality.TARGET_IS_CATEGORY else labelled),
        categorical_columns=[name for name, role in roles if role == "categorical"]
        + (list(shape.class_columns) if has_score else [])
        + (labelled if quality.TARGET_IS_CATEGORY else []),
        **task,
    )


def for_drift_tests(frame: pd.DataFrame, contract: DataContract) -> pd.DataFrame:
    """Each feature as its type gives it to the drift tests (bools as the text "True"/"False",
    categories Evidently tests with chi-squared like any other; missing stays missing), and
    the prediction as the task's quality checks read it (`quality.for_quality`). The frame
    itself when nothing changes a column: no copy."""
    changed = {}
    for column in contract.features:
        if column.name in frame.columns:
            values = frame[column.name]
            tested = column.definition.drift_values(values)
            if tested is not values:
                changed[column.name] = tested
    return quality.for_quality(frame.assign(**changed) if changed else frame, contract)


def build_report(contract: DataContract, columns: pd.Index, thresholds: DriftThresholds) -> Report:
    p_value = thresholds.column_p_value
    metrics: list[Any] = [
        DataDriftPreset(
            columns=[column.name for column in contract.features],
            num_method=NUMERIC_TEST,
            cat_method=CATEGORICAL_TEST,
            threshold=p_value,
            # The report calls the dataset drifted where step 1 first acts (the alert), not at
            # Evidently's default of half the columns.
            drift_share=thresholds.alert_drift_share,
        ),
        DataSummaryPreset(),
    ]
    shape = contract.prediction
    scored = has_prediction(columns, shape)
    if scored:
        metrics += [
            ValueDrift(column=name, method=NUMERIC_TEST, threshold=p_value)
            for name in shape.drift_columns
        ] + [
            ValueDrift(column=name, method=CATEGORICAL_TEST, threshold=p_value)
            for name in shape.class_columns
        ]
    if contract.target.name in columns:
        target = contract.target.name
        metrics.append(ValueDrift(column=target, method=quality.TARGET_TEST, threshold=p_value))
        if scored:
            metrics += quality.quality_preset()
    return Report(metrics, include_tests=False)


@contextmanager
def quiet_evidently() -> Iterator[None]:
    """Warnings Evidently's runs raise that say nothing about the data or the model."""
    with warnings.catch_warnings():
        # Evidently's regression quality plots R² per bin of the target, and an extreme bin may
        # hold one row: scikit-learn's "not well-defined" warning says nothing about the model.
        warnings.filterwarnings("ignore", message=r"R\^2 score is not well-defined")
        # Evidently's ranking metrics group by category with pandas' old default (a pandas
        # FutureWarning from inside Evidently); and scipy's KS test falls back from its exact
        # p-value to the asymptotic one on some samples (a per-query feature has fewer values).
        warnings.filterwarnings("ignore", message="The default of observed=False is deprecated")
        warnings.filterwarnings("ignore", message="ks_2samp: Exact calculation unsuccessful")
        yield


def quality_snapshot(
    rows: pd.DataFrame, contract: DataContract, timestamp: datetime, tags: list[str]
) -> Snapshot:
    """The task's quality metrics, the mean score and the mean label of labelled, scored rows
    (no reference: the online metrics of one window), dated `timestamp` on the dashboard."""
    frame = for_drift_tests(rows, contract).reset_index(drop=True)
    definition = data_definition(contract, frame.columns)
    target = contract.target.name
    report = Report(
        [
            RowCount(),
            MeanValue(column=SCORE_COLUMN),
            MeanValue(column=target),
            *quality.quality_preset(),
        ],
        include_tests=False,
    )
    data = Dataset.from_pandas(frame, data_definition=definition)
    with quiet_evidently(), warnings.catch_warnings():
        # A small window may hold one class only: its quality is undefined, which the online
        # metrics table already says (as nulls).
        warnings.filterwarnings("ignore", category=UndefinedMetricWarning)
        warnings.filterwarnings(
            "ignore", message="invalid value encountered", category=RuntimeWarning
        )
        # scipy's tests on a one-row window: NaN, as the table says.
        warnings.filterwarnings("ignore", message="One or more sample arguments is too small")
        try:
            return report.run(data, timestamp=timestamp, tags=tags)
        except (KeyError, ValueError, ZeroDivisionError) as error:  # Evidently's, on such a window
            logger.info("window %s: no quality metrics on the dashboard (%r)", timestamp, error)
    counts = Report([RowCount(), MeanValue(column=SCORE_COLUMN), MeanValue(column=target)])
    return counts.run(data, timestamp=timestamp, tags=tags)


def compare(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    contract: DataContract,
    thresholds: DriftThresholds,
    sample_rows: int,
    seed: int = 0,
) -> tuple[Snapshot, DriftSummary]:
    """Run the report on bounded samples of both windows. Columns the two windows do not share
    (labels that have not arrived, say) are left out of both."""
    shared = [column for column in reference.columns if column in current.columns]
    # Sample first, then select: selecting columns of a 1M-row frame would copy all of it.
    group = contract.group_column

    def prepared(window: pd.DataFrame, seed: int) -> pd.DataFrame:
        sample = bounded_sample(window, sample_rows, seed, group)[shared]
        return once_per_query(for_drift_tests(sample, contract), contract)

    reference_sample, current_sample = prepared(reference, seed), prepared(current, seed + 1)
    definition = data_definition(contract, pd.Index(shared))
    report = build_report(contract, pd.Index(shared), thresholds)
    with quiet_evidently():
        snapshot = report.run(
            Dataset.from_pandas(current_sample.reset_index(drop=True), data_definition=definition),
            Dataset.from_pandas(
                reference_sample.reset_index(drop=True), data_definition=definition
            ),
            tags=[DRIFT_TAG],
        )
    summary = summarise(
        snapshot.dict(),
        contract,
        thresholds.column_p_value,
        rows=(len(reference), len(current)),
        compared=(len(reference_sample), len(current_sample)),
    )
    return snapshot, summary


def summarise(
    result: dict[str, Any],
    contract: DataContract,
    p_value: float,
    rows: tuple[int, int],
    compared: tuple[int, int],
) -> DriftSummary:
    """Per-column p-values and the headline numbers, read from the snapshot's metrics."""
    p_values: dict[str, float] = {}
    metrics: dict[str, float] = {}
    for metric in result["metrics"]:
        config, value = metric["config"], metric["value"]
        kind = config.get("type", "").rsplit(":", 1)[-1]
        if kind == "ValueDrift":
            p_values[config["column"]] = float(value)
        elif kind in quality.QUALITY_METRICS:
            metrics[kind] = quality.read_metric(value)
    shape = contract.prediction
    features = [column.name for column in contract.features]
    drifted = [name for name in features if p_values.get(name, 1.0) < p_value]

    def drifts(column: str) -> bool | None:
        return p_values[column] < p_value if column in p_values else None

    return DriftSummary(
        reference_rows=rows[0],
        current_rows=rows[1],
        compared_rows=compared,
        p_values=p_values,
        drifted_features=drifted,
        drift_share=len(drifted) / len(features),
        prediction_drift=any_drift(
            [drifts(name) for name in (*shape.drift_columns, *shape.class_columns)]
        ),
        target_drift=drifts(contract.target.name),
        metrics=metrics,
    )


def any_drift(found: list[bool | None]) -> bool | None:
    """Whether any of the tested columns drifted; None when none was tested."""
    tested = [drifted for drifted in found if drifted is not None]
    return any(tested) if tested else None


def decide(summary: DriftSummary, thresholds: DriftThresholds) -> Action:
    """Step 1's rule: retrain at `retrain_drift_share` of drifted features, alert at
    `alert_drift_share`; a window smaller than `min_window_rows` is not judged."""
    if summary.current_rows < thresholds.min_window_rows:
        return "too_few_rows"
    if summary.drift_share >= thresholds.retrain_drift_share:
        return "retrain"
    if summary.drift_share >= thresholds.alert_drift_share:
        return "alert"
    return "none"
