"""Reading values as a contract sees them; shared by inference and the task's target rules."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..errors import ExpectedError

BOOL_TEXT = {"true", "false"}


class InferenceError(ExpectedError, ValueError):
    """The table cannot be turned into a contract as asked (exit 2, one sentence)."""


def is_bool_text(values: pd.Series) -> bool:
    if pd.api.types.is_numeric_dtype(values):
        return False
    present = values.dropna().astype(str).str.strip().str.lower()
    return bool(len(present)) and bool(present.isin(BOOL_TEXT).all())


def plain(value: Any) -> Any:
    """A numpy scalar as the Python value YAML can write."""
    return value.item() if hasattr(value, "item") else value


def require_complete(values: pd.Series) -> None:
    """Every row needs a target: a missing one is refused, not guessed."""
    missing = int(values.isna().sum())
    if missing:
        raise InferenceError(
            f"the target {values.name!r} is missing in {missing} of {len(values)} rows: drop or "
            "label those rows first"
        )


def as_times(values: pd.Series) -> pd.Series | None:
    """The values as UTC times when every one is a date-time (and none is missing)."""
    if values.isna().any():
        return None
    if pd.api.types.is_datetime64_any_dtype(values):
        return values
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return None
    try:
        parsed = pd.to_datetime(values.astype(str), utc=True, format="ISO8601")
    except (ValueError, TypeError):
        return None
    return None if parsed.isna().any() else parsed


def text_limit(values: pd.Series) -> int:
    """A `max_length` for text like `values`: twice the longest seen, at least 16 characters."""
    return max(16, 2 * int(values.astype(str).str.len().max()))
