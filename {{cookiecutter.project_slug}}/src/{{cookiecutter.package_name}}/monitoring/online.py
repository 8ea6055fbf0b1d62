"""Online metrics from delayed labels: the outcome of a served prediction (a purchase, a delivery
time, an engagement) arrives later than the prediction. A labels file gives each record's id and
target; each label joins the predictions of that id the service logged at most step 1's
`label_window_hours` before the label arrived, and the joined rows are judged per model version
and time window of serving, with the same metric functions as the offline gate.

Plain functions of frames: the labels flow (`flow.py`) wires them to the stores.
"""

from __future__ import annotations

import json
import logging
import math
import warnings
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.exceptions import UndefinedMetricWarning

from ..contract import DataContract
from ..data.batches import (
    append_jsonl,
    batch_id,
    content_hash,
    normalise,
    read_table,
    store_once,
    text_columns,
    write_json,
)
from ..errors import DATA_REJECTED, ExpectedError, reading_store
from ..requirements import OfflineMetrics, OnlineMetrics
from ..training.evaluation import holdout_metrics
from .drift import SCORE_COLUMN

logger = logging.getLogger(__name__)
LABELLED_AT = "labelled_at"  # optional in a labels file: when each outcome was observed
LOGGED_AT = "logged_at"  # the prediction log's: when the service answered
VERSION = "model_version"
SHOWN_BAD_ROWS = 5

OnlineAction = Literal["none", "alert", "retrain", "too_few_labels"]


class LabelsError(ExpectedError):
    """A labels file that cannot be used as given (unreadable, a column missing): exit 2."""


class RejectedLabelsError(ExpectedError):
    """Labels whose values break the data contract: none of the file is stored."""

    exit_code = DATA_REJECTED


def label_columns(contract: DataContract, feature_store: bool = False) -> list[str]:
    """What a labels file carries: the record's id, the target, and the columns the service
    never sees that are known by then (role `ignored`, and entity keys unless a feature store
    has requests carry them: kept with the labels, so the labelled traffic is a whole batch of
    the contract)."""
    unseen = ("ignored",) if feature_store else ("ignored", "entity")
    ignored = [column.name for column in contract.columns if column.role in unseen]
    return [contract.id_column or "", contract.target.name, *ignored]


def read_labels(path: Path, contract: DataContract, received_at: datetime) -> pd.DataFrame:
    """The labels file at `path` as id (text), target, the `label_columns` it has, and
    `labelled_at` (naive UTC; the file's own column when it has one, else `received_at`).
    Every target value is checked against the contract before anything is kept; a bad one
    rejects the file."""
    id_column, target = contract.id_column, contract.target.name
    if id_column is None:
        raise LabelsError(
            f"contract {contract.name!r} has no id column (role: id): labels cannot be joined "
            "to the predictions they are the outcome of"
        )
    wanted = {id_column: "str"} | {
        name: kind for name, kind in text_columns(contract).items() if name == target
    }
    frame = normalise(read_table(path, wanted), contract)
    missing = [name for name in (id_column, target) if name not in frame.columns]
    if missing:
        raise LabelsError(
            f"{path}: no column {', '.join(map(repr, missing))}; a labels file has the record "
            f"id ({id_column!r}), the target ({target!r}) and optionally {LABELLED_AT!r}"
        )
    if LABELLED_AT in frame.columns:
        given = frame[LABELLED_AT]
        # Text may mix ISO 8601 forms ("...Z", "+00:00", with or without fractions of a second).
        form = "ISO8601" if not pd.api.types.is_datetime64_any_dtype(given) else None
        parsed = pd.to_datetime(given, errors="coerce", utc=True, format=form)
        labelled_at = parsed.dt.tz_localize(None)
    else:
        labelled_at = pd.Series(pd.Timestamp(received_at).tz_localize(None), index=frame.index)
    extra = [name for name in label_columns(contract)[2:] if name in frame.columns]
    labels = frame[[id_column, target, *extra]].copy()
    labels[id_column] = frame[id_column].astype("string")
    labels[LABELLED_AT] = labelled_at.astype("datetime64[us]")
    problems = label_problems(labels, contract)
    if problems:
        shown = "; ".join(problems[:SHOWN_BAD_ROWS])
        hidden = len(problems) - SHOWN_BAD_ROWS
        more = f" and {hidden} more" if hidden > 0 else ""
        raise RejectedLabelsError(
            f"{path}: {len(problems)} labels break the contract: {shown}{more}"
        )
    return labels.reset_index(drop=True)


def label_problems(labels: pd.DataFrame, contract: DataContract) -> list[str]:
    """A sentence per bad row (numbered from 1, after any header): a missing id, a
    target missing or outside the contract's values or range, an unreadable `labelled_at`."""
    id_column, column = contract.id_column or "", contract.target
    target = labels[column.name]
    bad = pd.Series("", index=labels.index)
    bad[labels[id_column].isna()] = f"no {id_column}"
    bad[labels[LABELLED_AT].isna()] = f"{LABELLED_AT} is not a time"
    if column.labels:
        allowed = {str(value) for value in column.labels}
        bad[~target.astype("string").isin(allowed) & target.notna()] = (
            f"{column.name} is not one of {sorted(allowed)}"
        )
    else:
        numbers = pd.to_numeric(target, errors="coerce")
        bad[numbers.isna() & target.notna()] = f"{column.name} is not a number"
        if column.min is not None:
            bad[numbers < column.min] = f"{column.name} is below {column.min}"
        if column.max is not None:
            bad[numbers > column.max] = f"{column.name} is above {column.max}"
    bad[target.isna()] = f"no {column.name}"
    return [f"row {position + 1}: {reason}" for position, reason in enumerate(bad) if reason]


@dataclass(frozen=True)
class JoinCounts:
    """What became of a set of labels."""

    labels: int
    joined: int  # labels that found a prediction in time
    predictions: int  # the predictions they joined (a record scored by two models: two)
    late: int  # their predictions were logged longer than the window before they arrived
    unmatched: int  # no prediction of this id was logged at all
    repeated: int  # a second label of an id: the first to arrive is the outcome

    def sentence(self) -> str:
        return (
            f"{self.labels} labels: {self.joined} joined {self.predictions} predictions, "
            f"{self.late} late, {self.unmatched} with no prediction, {self.repeated} repeated"
        )


def join_labels(
    predictions: pd.DataFrame, labels: pd.DataFrame, contract: DataContract, window: timedelta
) -> tuple[pd.DataFrame, JoinCounts]:
    """The predictions that got their label in time, each with its target and `labelled_at`,
    and what became of the labels. An id's first label to arrive is its outcome."""
    id_column, target = contract.id_column or "", contract.target.name
    firsts = labels.sort_values(LABELLED_AT, kind="stable").drop_duplicates(id_column)
    if predictions.empty or id_column not in predictions.columns:
        counts = JoinCounts(len(labels), 0, 0, 0, len(firsts), len(labels) - len(firsts))
        return pd.DataFrame(), counts
    served = predictions.drop(columns=[target], errors="ignore").assign(
        **{
            id_column: predictions[id_column].astype("string"),
            LOGGED_AT: logged_times(predictions[LOGGED_AT]),
        }
    )
    # What the service saw (an entity key it was sent) wins over the labels file's copy.
    shared = [c for c in firsts.columns if c in served.columns and c != id_column]
    merged = served.merge(firsts.drop(columns=shared), on=id_column, how="inner")
    in_time = merged[LABELLED_AT] - merged[LOGGED_AT] <= window
    joined = merged[in_time].reset_index(drop=True)
    matched_ids = set(merged[id_column])
    joined_ids = set(joined[id_column])
    counts = JoinCounts(
        labels=len(labels),
        joined=len(joined_ids),
        predictions=len(joined),
        late=len(matched_ids - joined_ids),
        unmatched=int((~firsts[id_column].isin(matched_ids)).sum()),
        repeated=len(labels) - len(firsts),
    )
    return joined, counts


def logged_times(values: pd.Series) -> pd.Series:
    """The log's RFC 3339 times (with their offset) as naive UTC."""
    return pd.to_datetime(values, utc=True, format="ISO8601").dt.tz_localize(None)


@dataclass(frozen=True)
class OnlineWindow:
    """The served model's metrics over one time window of serving, on the labels that arrived."""

    model_version: str
    start: str  # ISO time, naive UTC
    end: str
    predictions: int  # all the version served in the window
    labelled: int  # of them, those whose label joined
    metrics: dict[str, float | None]  # step 1's metric names (None: not measurable)
    mean_label: float  # the observed outcome (a conversion rate, a mean delivery time)
    mean_score: float  # what the model predicted for the same rows

    @property
    def key(self) -> tuple[str, str]:
        return self.model_version, self.start

    def to_record(self) -> dict[str, Any]:
        return asdict(self)


def window_starts(times: pd.Series, minutes: int) -> pd.Series:
    starts: pd.Series = times.dt.floor(f"{minutes}min")
    return starts


def online_windows(
    predictions: pd.DataFrame,
    joined: pd.DataFrame,
    contract: DataContract,
    offline: OfflineMetrics,
    minutes: int,
) -> list[OnlineWindow]:
    """Metrics per model version and `minutes`-long window of serving time, over the windows
    that have a labelled prediction; oldest first."""
    if joined.empty:
        return []
    served = window_starts(logged_times(predictions[LOGGED_AT]), minutes)
    served_counts = (
        pd.DataFrame({VERSION: predictions[VERSION].astype(str), "start": served})
        .value_counts()
        .to_dict()
    )
    frame = joined.assign(
        start=window_starts(joined[LOGGED_AT], minutes), **{VERSION: joined[VERSION].astype(str)}
    )
    group = contract.group_column
    windows = []
    for key, rows in frame.groupby([VERSION, "start"], sort=True):
        version, start = str(key[0]), pd.Timestamp(str(key[1]))
        labels = contract.encode_target(rows[contract.target.name]).astype(float)
        scores = rows[SCORE_COLUMN].astype(float)  # the score, for its mean
        groups = rows[group].to_numpy() if group else None
        with warnings.catch_warnings():  # a small window may hold one class: NaN, said below
            warnings.filterwarnings("ignore", category=UndefinedMetricWarning)
            measured = holdout_metrics(
                labels.to_numpy(), contract.prediction.raw(rows), offline, groups
            )
        windows.append(
            OnlineWindow(
                model_version=version,
                start=start.isoformat(),
                end=(start + pd.Timedelta(minutes=minutes)).isoformat(),
                predictions=int(served_counts.get((version, start), len(rows))),
                labelled=len(rows),
                metrics={name: _number(value) for name, value in measured.items()},
                mean_label=float(labels.mean()),
                mean_score=float(scores.mean()),
            )
        )
    return windows


def _number(value: float) -> float | None:
    value = float(value)
    return None if math.isnan(value) else value


@dataclass(frozen=True)
class OnlineVerdict:
    action: OnlineAction
    window: OnlineWindow | None  # the window judged: the champion's latest with enough labels
    failures: list[str]

    def sentence(self) -> str:
        if self.window is None:
            return "no window of the champion has enough labels to judge"
        judged = (
            f"v{self.window.model_version} from {self.window.start}, "
            f"{self.window.labelled} labelled"
        )
        if not self.failures:
            return f"{judged}: meets step 1's online thresholds"
        return f"{judged}: {'; '.join(self.failures)} -> {self.action}"


def judge(windows: list[OnlineWindow], champion: str, online: OnlineMetrics) -> OnlineVerdict:
    """Step 1's online thresholds on the champion's latest window with `min_labelled_rows`."""
    enough = [
        window
        for window in windows
        if window.model_version == champion and window.labelled >= online.min_labelled_rows
    ]
    if not enough:
        return OnlineVerdict("too_few_labels", None, [])
    latest = max(enough, key=lambda window: window.start)
    measured = {name: np.nan if value is None else value for name, value in latest.metrics.items()}
    failures = online.failures(measured)
    return OnlineVerdict(online.on_breach if failures else "none", latest, failures)


def labelled_batch(joined: pd.DataFrame, contract: DataContract, version: str) -> pd.DataFrame:
    """The rows `version` served that got their label, as a batch of the contract's columns
    (what the service logged is the record as it was scored): to ingest and retrain on."""
    rows = joined[joined[VERSION].astype(str) == version]
    rows = rows.drop_duplicates(contract.id_column) if contract.id_column else rows
    columns = [column for column in contract.column_names if column in rows.columns]
    return normalise(rows[columns].reset_index(drop=True), contract)


def missing_from_batch(batch: pd.DataFrame, contract: DataContract) -> list[str]:
    """The contract's columns the labelled traffic lacks: columns the service never sees that
    the labels files did not carry."""
    return [name for name in contract.column_names if name not in batch.columns]


def store_labels(labels: pd.DataFrame, directory: Path) -> Path:
    """Keep an arrival of labels, once: the same ids and values sent again are the same
    arrival (whenever they arrived: the first arrival's times are kept)."""
    data_hash = content_hash(labels.drop(columns=[LABELLED_AT]))
    path, _ = store_once(labels, directory, batch_id(data_hash), data_hash)
    return path


def stored_labels(directory: Path, contract: DataContract) -> pd.DataFrame:
    """Every label that arrived so far, oldest arrival first."""
    parts = []
    for path in sorted(directory.glob("*.parquet")):
        with reading_store(path, "the stored labels"):
            parts.append(pd.read_parquet(path))
    if not parts:
        columns = [contract.id_column or "", contract.target.name, LABELLED_AT]
        return pd.DataFrame(columns=columns)
    frame = pd.concat(parts, ignore_index=True)
    id_column = contract.id_column or ""
    return frame.assign(**{id_column: frame[id_column].astype("string")})


def window_rows(joined: pd.DataFrame, window: OnlineWindow, minutes: int) -> pd.DataFrame:
    """The joined rows of one window."""
    starts = window_starts(joined[LOGGED_AT], minutes)
    return joined[
        (joined[VERSION].astype(str) == window.model_version)
        & (starts == pd.Timestamp(window.start))
    ]


def read_online_metrics(path: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """The last labels run's table, by (model version, window start)."""
    if not path.is_file():
        return {}
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
        return {(row["model_version"], row["start"]): row for row in table["windows"]}
    except (OSError, ValueError, KeyError, TypeError) as error:
        # Derived from the stored labels and the log, and rewritten by this run: start afresh
        # (the dashboard keeps the snapshots it had; the windows get new ones).
        logger.warning("%s is unreadable (%r): the online metrics are measured afresh", path, error)
        return {}


def write_online_metrics(
    path: Path, windows: list[OnlineWindow], snapshot_ids: dict[tuple[str, str], str]
) -> Path:
    rows = [w.to_record() | {"snapshot_id": snapshot_ids.get(w.key)} for w in windows]
    return write_json({"updated_at": datetime.now(UTC).isoformat(), "windows": rows}, path)


@dataclass(frozen=True)
class LabelsOutcome:
    """One labels run: what the arrival joined, and the verdict on the champion."""

    source: str
    stored: str
    counts: JoinCounts
    champion: str | None
    windows: list[OnlineWindow]  # every window with labels so far
    action: OnlineAction
    judged: OnlineWindow | None
    failures: list[str]
    metrics_file: str
    watched: list[str] = field(default_factory=list)  # step 1's online thresholds and primary
    retrained: dict[str, Any] | None = None
    service: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    finished_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    def headline(self) -> str:
        verdict = OnlineVerdict(self.action, self.judged, self.failures).sentence()
        text = f"{self.source}: {self.counts.sentence()}; {verdict}"
        if self.judged is not None:
            text += f" ({self.judged_metrics()})"
        if self.retrained is not None:
            text += f"; retrained: {self.retrained['summary']}"
        if self.service is not None:
            text += f"; service: {self.service}"
        return text + f"\nOnline metrics: {self.metrics_file}"

    def judged_metrics(self) -> str:
        """The watched metrics of the judged window, and what it observed against predicted."""
        if self.judged is None:
            return ""
        metrics = self.judged.metrics
        shown = [
            f"{name} {metrics[name]:.4f}" for name in self.watched if metrics.get(name) is not None
        ]
        return ", ".join(
            [
                *shown,
                f"mean label {self.judged.mean_label:.4f} vs mean score "
                f"{self.judged.mean_score:.4f}",
            ]
        )

    def to_record(self) -> dict[str, Any]:
        record = asdict(self)
        record["windows"] = len(self.windows)  # the table is in `metrics_file`
        return record


def record(outcome: LabelsOutcome, labels_log: Path) -> None:
    append_jsonl([outcome.to_record()], labels_log)
