"""A first contract for a user's table (`contract infer`): types, ranges, categories,
nullability and roles read from the data, written as YAML for a person to review.

Rules, each printed with the column it decided (a feature's type is the first of the contract's
types that recognises its values: `contract/column_types.py`):

- integers are `int`, other numbers `float`, true/false columns `bool`; a column of two
  numbers is not continuous: 0/1 is a `bool`, two whole numbers an `int` listing its `values`;
- text with at most `CATEGORY_LIMIT` distinct values (and repeats) is a `category` listing them;
  more distinct text is a `string` with role `ignored` (an id, free text), and said so;
- a column with one value, or none at all, is `ignored`: it cannot teach the model anything;
- a column with a missing value is `nullable`;
- a number's hard limits (`min`/`max`: a value outside is refused) are only the sign the data
  shows (never negative; a column within [0, 1] is pointed out as maybe a share, for a person
  to decide); where its values usually lie is an
  `expected` range, a tolerance: the 1st to 99th percentile widened by `EXPECTED_MARGIN` of that
  span on each side. Measured on real tables split into batches (bench/contract_tolerance.py),
  later batches of the same data put at most 2.6% of a column outside it, under the contract's
  10% tolerance, while the same column in other units (x100) puts over 90% outside;
- an int column that is the hour, weekday, day or month of the timestamp in every row gets the
  calendar's limits: a batch of a few days holds only some of its values.

What cannot be inferred is refused with one sentence: a target that is missing, has missing
values, or does not fit the project's task (`target.py` says what fits); an id that repeats; a
timestamp that does not parse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from pydantic import ValidationError

from ..errors import describe_validation_error
from . import target as task_target
from .bounds import EXPECTED_MARGIN
from .column_types import Sample, recognise
from .spec import RESERVED_NAMES, DataContract
from .values import InferenceError, as_times, text_limit

MIN_ROWS = 100  # the contract's minimum batch size, unless the table is smaller


@dataclass
class Decisions:
    """What inference decided, column by column, and what a person should check."""

    notes: dict[str, str] = field(default_factory=dict)  # column -> what was decided and why
    review: list[str] = field(default_factory=list)

    def note(self, column: object, text: str, review: bool = False) -> None:
        self.notes[str(column)] = text
        if review:
            self.review.append(f"{column}: {text}")


@dataclass(frozen=True)
class InferredContract:
    contract: DataContract
    notes: dict[str, str]
    review: list[str]

    def to_yaml(self, source: str) -> str:
        """The contract as YAML, one line per column, each after a comment saying why."""
        head = self.contract.model_dump(
            mode="json", include={"name", "version", "description", "min_rows"}
        )
        lines = [
            f"# Step 2: the data contract of {source}, inferred by `contract infer` on "
            f"{datetime.now(UTC):%Y-%m-%d}.",
            "# Review it: the comments say what each column was taken to be.",
            "# min/max are hard limits (the physical bounds the data shows); `expected` ranges are "
            "the 1st-99th",
            f"# percentiles widened by {EXPECTED_MARGIN:.0%} of their span on each side, and up to "
            f"`tolerance` ({self.contract.tolerance:.0%}) of a",
            "# batch's values may fall outside them (reported, stored); more refuses the batch.",
            _dump(head, flow=False).rstrip(),
            "columns:",
        ]
        for column in self.contract.columns:
            lines.append(f"  # {self.notes.get(column.name, '')}".rstrip())
            entry = column.model_dump(mode="json", exclude_defaults=True)
            if column.definition.whole:  # whole bounds read as ints
                entry |= {k: int(v) for k, v in entry.items() if k in ("min", "max")}
                if "expected" in entry:
                    entry["expected"] = {k: int(v) for k, v in entry["expected"].items()}
            lines.append(f"  - {_dump(entry, flow=True).strip()}")
        return "\n".join(lines) + "\n"


def _dump(value: Any, flow: bool) -> str:
    return yaml.safe_dump(
        value, default_flow_style=flow, sort_keys=False, allow_unicode=True, width=10_000
    )


# A batch's number at the end of a file name: `orders_b2`, `orders-part-3`, `orders batch 4`.
BATCH_SUFFIX = re.compile(r"[_\-. ]*(b|batch|part|chunk)[_\-. ]*\d+$", re.IGNORECASE)


def contract_name(source: Path) -> str:
    """The table's name: the file's (or folder's) without a batch number, as an identifier."""
    stem = source.name if source.is_dir() else source.stem
    stem = BATCH_SUFFIX.sub("", stem) or stem
    return re.sub(r"[^a-z0-9]+", "_", stem.lower()).strip("_") or "table"


def infer_contract(
    frame: pd.DataFrame,
    target: str,
    name: str,
    id_column: str | None = None,
    timestamp: str | None = None,
    positive: str | None = None,
    group: str | None = None,
) -> InferredContract:
    """A contract for `frame` with the given roles; `InferenceError` for what cannot be."""
    if frame.empty:
        raise InferenceError("the table has no rows: there is nothing to infer from")
    roles = (("target", target), ("id", id_column), ("timestamp", timestamp), ("group", group))
    for role, column in roles:
        if column is not None and column not in frame.columns:
            raise InferenceError(
                f"--{role} {column!r} is not a column of the table; its columns are "
                + ", ".join(repr(str(c)) for c in frame.columns)
            )
    reserved = sorted(str(c) for c in frame.columns if c in RESERVED_NAMES)
    if reserved:
        raise InferenceError(
            f"column(s) {', '.join(reserved)} use a name the system writes next to each record "
            f"({', '.join(sorted(RESERVED_NAMES))}): rename them in the table"
        )
    decisions = Decisions()
    columns: list[dict[str, Any]] = []
    times = as_times(frame[timestamp]) if timestamp is not None else None
    for column in frame.columns:
        values = frame[column]
        if column == target:
            entry, guessed = task_target.infer_target(values, positive)
            if guessed:
                decisions.note(column, guessed, review=True)
        elif column == id_column:
            entry = _id(values, decisions)
        elif column == timestamp:
            entry = _timestamp(values, decisions)
        elif column == group:
            entry = _group(values, decisions)
        elif (calendar := _calendar_field(values, times)) is not None:
            entry = calendar
            decisions.note(column, f"int feature: the {entry.pop('field')} of {timestamp}")
        else:
            entry = _feature(values, decisions, hint_id=id_column is None)
        columns.append({"name": str(column), **entry})
    if not any(entry.get("role", "feature") == "feature" for entry in columns):
        raise InferenceError(
            "no column can be a feature (each is the target, an id, a timestamp, constant, "
            "empty or free text): the model would have nothing to learn from"
        )
    raw = {
        "name": name,
        "version": 1,
        "description": f"Inferred from {len(frame)} rows; reviewed by: (your name).",
        "min_rows": min(MIN_ROWS, len(frame)),
        "columns": columns,
    }
    try:
        contract = DataContract.model_validate(raw)
    except ValidationError as error:
        raise InferenceError(
            f"the inferred contract is not valid:\n{describe_validation_error(error)}"
        ) from None
    # Calendar parts have both limits from the calendar; the rest got `min: 0` from the data.
    never_negative = [c.name for c in contract.features if c.min == 0 and c.max is None]
    if never_negative:
        decisions.review.append(
            f"hard minimum 0 on {len(never_negative)} column(s) that held no negative value "
            f"({', '.join(never_negative[:5])}{', ...' if len(never_negative) > 5 else ''}): "
            "a negative value will be refused; remove `min: 0` where one is possible"
        )
    if target not in decisions.notes:  # nothing guessed: say what the target is
        decisions.note(target, task_target.describe_target(contract, frame))
    return InferredContract(contract, decisions.notes, decisions.review)


def _id(values: pd.Series, decisions: Decisions) -> dict[str, Any]:
    name = values.name
    if values.isna().any():
        raise InferenceError(f"the id {name!r} is missing in {int(values.isna().sum())} rows")
    repeats = int(values.duplicated().sum())
    if repeats:
        raise InferenceError(
            f"the id {name!r} repeats in {repeats} rows ({values[values.duplicated()].iloc[0]!r} "
            "is one): an id names one row"
        )
    entry: dict[str, Any] = {"role": "id", "unique": True}
    if pd.api.types.is_integer_dtype(values):
        entry["type"] = "int"
    else:
        entry |= {"type": "string", "max_length": text_limit(values)}
    decisions.note(name, "id: unique in every row; echoed in predictions to join labels later")
    return entry


def _group(values: pd.Series, decisions: Decisions) -> dict[str, Any]:
    name = values.name
    if values.isna().any():
        raise InferenceError(f"the group {name!r} is missing in {int(values.isna().sum())} rows")
    entry: dict[str, Any] = {"role": "group"}
    if pd.api.types.is_integer_dtype(values):
        entry["type"] = "int"
    else:
        entry |= {"type": "string", "max_length": text_limit(values)}
    sizes = values.value_counts()
    decisions.note(
        name,
        f"group: {len(sizes)} queries of {sizes.min()} to {sizes.max()} rows; rows are ranked, "
        "split and judged within their group",
    )
    return entry


def _timestamp(values: pd.Series, decisions: Decisions) -> dict[str, Any]:
    name = values.name
    parsed = as_times(values)
    if parsed is None:
        raise InferenceError(
            f"the timestamp {name!r} does not parse as dates and times in every row (e.g. "
            f"{values.iloc[0]!r}); use ISO 8601, e.g. 2026-01-05T13:45:00Z"
        )
    decisions.note(
        name,
        f"timestamp from {parsed.min()} to {parsed.max()} (UTC): splits and windows go by it",
    )
    return {"type": "datetime", "role": "timestamp"}


# Parts of a time a table often carries as a column, with the values each can take. A batch
# that covers a few days holds only some of them: their limits come from the calendar.
CALENDAR_FIELDS: dict[str, tuple[str, int, int]] = {
    "hour": ("hour", 0, 23),
    "day_of_week": ("day of the week (0 is Monday)", 0, 6),
    "day": ("day of the month", 1, 31),
    "month": ("month", 1, 12),
}


def _calendar_field(values: pd.Series, times: pd.Series | None) -> dict[str, Any] | None:
    """The entry of an int column that is a calendar part of the timestamp in every row."""
    if times is None or not pd.api.types.is_integer_dtype(values) or values.isna().any():
        return None
    for attribute, (field_name, low, high) in CALENDAR_FIELDS.items():
        part = getattr(times.dt, attribute)
        if (part.to_numpy() == values.to_numpy()).all():
            return {"type": "int", "min": low, "max": high, "field": field_name}
    return None


def _feature(values: pd.Series, decisions: Decisions, hint_id: bool) -> dict[str, Any]:
    """The entry of a feature column: the first type that recognises it (`column_types.py`),
    then the rules every type shares (nullable when a value is missing; ignored when it holds
    one value, or none)."""
    name = values.name
    present = values.dropna()
    nullable = len(present) < len(values)
    if present.empty:
        decisions.note(name, "ignored: every value is missing", review=True)
        return {"type": "float", "role": "ignored", "nullable": True}
    found = recognise(Sample(values=values, present=present, hint_id=hint_id))
    entry = found.entry | ({"nullable": True} if nullable else {})
    if not found.final and entry.get("role") != "ignored" and present.nunique() == 1:
        decisions.note(name, f"ignored: the same value ({present.iloc[0]!r}) in every row", True)
        return entry | {"role": "ignored"}
    decisions.note(name, found.note, found.review)
    return entry


def requirements_yaml(contract: DataContract, frame: pd.DataFrame) -> str:
    """A starting step-1 file for the table: neutral goals to rewrite, the task's offline
    metrics with a floor any useful model clears, windows sized to the table."""
    goals, offline, comment = task_target.starting_requirements(contract, frame)
    window = min(1_000, max(100, len(frame) // 10))
    raw = goals | {
        "scale": {
            "daily_predictions": max(1, len(frame)),
            "peak_requests_per_second": 10,
            "training_rows": len(frame),
            "retrain_every_days": 7,
        },
        "offline_metrics": offline,
        "serving": {"p99_latency_ms": 50, "max_batch_rows": 1000, "availability": 0.999},
        "drift": {
            "column_p_value": 0.05,
            "alert_drift_share": 0.2,
            "retrain_drift_share": 0.4,
            "min_window_rows": window,
        },
    }
    head = [
        f"# Step 1 for {contract.name}, written by `contract infer`: every number is read by "
        "code (see the packaged requirements.yaml for what each does).",
        f"# {comment}",
        f"# Monitoring judges windows of at least {window} rows (a tenth of the table, at most "
        "1000).",
    ]
    return "\n".join(head) + "\n" + _dump(raw, flow=False)
