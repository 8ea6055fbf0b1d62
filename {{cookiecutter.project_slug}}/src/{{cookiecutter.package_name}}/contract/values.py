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
