"""The closed loop on your own table (`loop --source`): the table is cut into what the first
model learns from and what arrives after it, and drift is injected into the last part.

- **Windows.** Rows in time order (by the contract's timestamp; in file order without one):
  the first rows are the reference the first model trains on, the next `window` rows are
  replayed to the service as they are, and the last `window` rows arrive later, drifted.
  `window` is a fifth of the table, and at least step 1's `min_window_rows`. Rows of one
  group (a ranking's query) stay together, in the order the groups start: each cut moves to
  the next group's first row.
- **Drift** (`inject_drift`), driven by the contract alone, as each feature's type shifts it
  (`contract/column_types.py`): every numeric feature moves up by `SHIFT_IN_STD` of its
  reference standard deviation (rounded for ints, kept inside the contract's range); in every
  category and bool feature `REWEIGHTED_SHARE` of the values become the value that was rarest
  in the reference. Labels are kept: the drifted rows are
  ingested with them, so the retrain learns from the shifted data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..contract import DataContract
from ..contract.column_types import DriftMove
from ..errors import ExpectedError

SHIFT_IN_STD = 0.5
REWEIGHTED_SHARE = 0.3
WINDOW_SHARE = 0.2


class ReplayError(ExpectedError):
    """The table is too small to replay as the loop needs."""


@dataclass(frozen=True)
class ReplayParts:
    reference: pd.DataFrame  # ingested, then trained on
    live: pd.DataFrame  # replayed to the service unchanged
    drifted: pd.DataFrame  # ingested with labels and replayed, after `inject_drift`


def split_for_replay(
    frame: pd.DataFrame, contract: DataContract, min_window_rows: int, seed: int
) -> ReplayParts:
    timestamp = contract.timestamp_column
    ordered = frame.sort_values(timestamp, kind="stable") if timestamp else frame
    starts = np.arange(len(ordered) + 1)  # where a part may begin: any row, or the end
    if contract.group_column is not None:
        codes = pd.factorize(ordered[contract.group_column])[0]
        ordered = ordered.iloc[np.argsort(codes, kind="stable")]
        codes = np.sort(codes)
        starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1], True])
    ordered = ordered.reset_index(drop=True)

    def cut(row: int) -> int:
        index = int(np.searchsorted(starts, max(row, 0)))
        return int(starts[min(index, len(starts) - 1)])

    window = max(min_window_rows, int(len(ordered) * WINDOW_SHARE))
    reference_rows = cut(len(ordered) - 2 * window)
    live_end = cut(reference_rows + window)
    needed = max(window, contract.min_rows)
    if reference_rows < needed:
        raise ReplayError(
            f"the table has {len(ordered)} rows; the loop needs {2 * window + needed}: "
            f"{needed} to train on and two windows of {window} (step 1's drift.min_window_rows "
            f"is {min_window_rows}; lower it, or give a larger table)"
        )
    reference = ordered.iloc[:reference_rows]
    live = ordered.iloc[reference_rows:live_end]
    later = ordered.iloc[live_end:]
    return ReplayParts(
        reference=reference.reset_index(drop=True),
        live=live.reset_index(drop=True),
        drifted=inject_drift(later.reset_index(drop=True), contract, reference, seed),
    )


def inject_drift(
    frame: pd.DataFrame, contract: DataContract, reference: pd.DataFrame, seed: int
) -> pd.DataFrame:
    """`frame` with every feature shifted as the module docstring says; seeded."""
    move = DriftMove(std=SHIFT_IN_STD, share=REWEIGHTED_SHARE, rng=np.random.default_rng(seed))
    shifted = frame.copy()
    for column in contract.features:
        name = column.name
        shifted[name] = column.definition.shift(shifted[name], column, reference[name], move)
    return shifted


def write_parts(parts: ReplayParts, folder: Path, stem: str) -> dict[str, Path]:
    """The parts the loop ingests, as Parquet files under `folder` (rewritten each run)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name in ("reference", "drifted"):
        path = folder / f"{stem}-{name}.parquet"
        getattr(parts, name).to_parquet(path, index=False)
        paths[name] = path
    return paths


def already_ingested(frame: pd.DataFrame, validated_dir: Path) -> int:
    """How many of `frame`'s rows are already in this project's validated batches: replayed
    again, under new batch hashes, they would be trained on twice and leak into the holdout."""
    stored = sorted(validated_dir.glob("*.parquet"))
    if not stored or frame.empty:
        return 0
    columns = [str(c) for c in frame.columns]
    seen: set[int] = set()
    for path in stored:
        batch = pd.read_parquet(path)
        if [str(c) for c in batch.columns] != columns:
            continue  # another table's batch
        seen.update(pd.util.hash_pandas_object(batch, index=False).tolist())
    rows = pd.util.hash_pandas_object(frame, index=False)
    return int(rows.isin(seen).sum())
