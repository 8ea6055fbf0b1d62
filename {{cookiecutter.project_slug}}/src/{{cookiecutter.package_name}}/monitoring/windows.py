"""The two sides of a comparison.

Reference: the rows the champion was trained on (the batches its run lists), scored by the
champion. Current: what the service scored since the last monitoring run (the prediction log,
read from where the last run stopped), or a batch file, scored by the champion if it has no
scores. Labels come with a batch file, so classification quality is measured there.
"""

from __future__ import annotations

import itertools
import json
import logging
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from ..cluster import run_each
from ..contract import DataContract
from ..contract.prediction import add_prediction, has_prediction
from ..errors import ExpectedError, reading_store
from ..modeling import labels
from ..modeling.scoring import ScoringModel
from ..serving import prediction_log
from ..serving.batch import read_features, require_features
from ..training import registry
from .drift import chosen_groups, sampled_positions

logger = logging.getLogger(__name__)


class WindowError(ExpectedError):
    """A window cannot be built: say what is missing."""


def read_compact(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """A Parquet window with text columns as categoricals: 1M rows of the default contract take
    ~60 MB instead of ~250 MB, which keeps a 1M-row comparison under 1 GB."""
    with reading_store(path, "the batch"):
        frame: pd.DataFrame = pq.read_table(path, columns=columns).to_pandas(
            strings_to_categorical=True
        )
    return frame


def training_batches(version: registry.ModelVersion) -> list[str]:
    """The validated batches the version was trained on, from its run's `metrics.json`."""
    summary = mlflow.artifacts.load_dict(f"runs:/{version.run_id}/evaluation/metrics.json")
    batches: list[str] = summary["batches"]
    return batches


def reference_window(
    validated_dir: Path,
    contract: DataContract,
    version: registry.ModelVersion,
    model: ScoringModel,
    max_rows: int,
    seed: int,
    dask_address: str | None = None,
) -> pd.DataFrame:
    """A bounded sample of the champion's training rows, with the champion's scores (and, for a
    ranking, each row's group and id: its quality is judged per query list). The batches are
    read on the Dask cluster `dask_address` names, when set."""
    columns = [column.name for column in contract.features] + [contract.target.name]
    if contract.group_column is not None:
        columns += [name for name in (contract.group_column, contract.id_column) if name]
    paths = [validated_dir / f"{batch}.parquet" for batch in training_batches(version)]
    missing = [path.name for path in paths if not path.is_file()]
    if missing:
        raise WindowError(f"the champion's training batches are not in {validated_dir}: {missing}")
    sample = sample_files(paths, columns, max_rows, seed, contract.group_column, dask_address)
    sample = with_labels(sample, contract)
    add_prediction(sample, contract.prediction, model.score_frame(sample))
    return sample


def sample_files(
    paths: list[Path],
    columns: list[str],
    max_rows: int,
    seed: int,
    group: str | None = None,
    dask_address: str | None = None,
) -> pd.DataFrame:
    """`bounded_sample` of the Parquet files `paths` put end to end, row for row, without
    holding them all at once: the rows to keep are chosen first (from the files' row counts,
    or their `group` column), then each file gives its own, here or on a Dask cluster."""
    rows = [pq.ParquetFile(path).metadata.num_rows for path in paths]
    starts = np.cumsum([0, *rows])
    order = None
    if sum(rows) <= max_rows:
        keep: list[Any] = [None] * len(paths)
    elif group is None:
        order = sampled_positions(sum(rows), max_rows, seed)
        ascending = np.sort(order)
        keep = [
            ascending[(ascending >= start) & (ascending < end)] - start
            for start, end in itertools.pairwise(starts)
        ]
    else:
        groups = pd.concat([read_compact(path, [group])[group] for path in paths])
        keep = [chosen_groups(groups.reset_index(drop=True), max_rows, seed)] * len(paths)
    parts: list[pd.DataFrame] = run_each(
        read_kept, paths, keep, address=dask_address, columns=columns, group=group
    )
    frame = pd.concat(parts, ignore_index=True)
    if order is not None:  # back in draw order, as `DataFrame.sample` returns rows
        frame = frame.iloc[np.argsort(np.argsort(order))]
    return frame.reset_index(drop=True)


def read_kept(path: Path, kept: Any, columns: list[str], group: str | None) -> pd.DataFrame:
    """The rows of one file `sample_files` keeps: all (None), these positions, or the rows of
    these groups."""
    frame = read_compact(path, columns)
    if kept is None:
        return frame
    if isinstance(kept, np.ndarray):
        return frame.iloc[kept]
    return frame[frame[group].isin(kept)]


# A monitoring window reads at most about this much of the newest log (~150k records of the
# default contract): drift is judged on a sample of it anyway (monitoring_sample_rows).
WINDOW_NEWEST_BYTES = 64 << 20


def prediction_log_window(
    log: Path, offset: int, newest_bytes: int | None = None
) -> tuple[pd.DataFrame, int, list[str]]:
    """Records the service logged after position `offset` in the whole log (across its
    segments: serving/prediction_log.py), the position after the last one, and the lines that
    are not JSON records (named by file and line number): they are skipped and counted, so one
    bad line cannot stop every later run. With `newest_bytes`, only about that many of the
    newest bytes are read: a window's drift is judged on its latest traffic, in bounded memory.
    """
    records: list[dict[str, Any]] = []
    skipped: list[str] = []
    if offset > (written := prediction_log.log_end(log)):
        logger.warning(
            "the saved read position %d is past the end of the prediction log (%d bytes): the "
            "log was replaced, so it is read from its start",
            offset,
            written,
        )
        offset = 0
    end = offset
    if lost := prediction_log.lost_to_retention(log, offset):
        logger.warning(
            "%d bytes of the prediction log after position %d were deleted by its retention "
            "before they were read (serving.log_keep_files)",
            lost,
            offset,
        )
    for chunk in prediction_log.read_chunks(log, offset, newest_bytes=newest_bytes):
        bad = []
        for index, line in enumerate(chunk.data.splitlines()):
            try:
                record = json.loads(line)
            except ValueError:
                record = None
            if isinstance(record, dict):
                records.append(record)
            elif line.strip():
                bad.append(index)
        if bad:  # number them in their file: only now is the part before the chunk read
            first = 1 + _count_lines(chunk.path, chunk.at)
            skipped += [f"{chunk.path}:{first + index}" for index in bad]
        end = chunk.end
    return pd.DataFrame.from_records(records), end, skipped


def _count_lines(path: Path, offset: int) -> int:
    """Newlines before byte `offset` (to give skipped lines their number in the file)."""
    count = 0
    with path.open("rb") as handle:
        while offset > 0:
            chunk = handle.read(min(offset, 1 << 20))
            if not chunk:
                break
            count += chunk.count(b"\n")
            offset -= len(chunk)
    return count


def batch_window(source: Path, contract: DataContract, model: ScoringModel) -> pd.DataFrame:
    """A CSV or Parquet batch; scored by the champion unless it already has scores."""
    if source.suffix.lower() == ".parquet" and source.is_file():
        frame = require_features(read_compact(source), contract, source)
    else:
        frame = read_features(source, contract)  # CSV, or the error for a missing file
    if not has_prediction(frame.columns, contract.prediction):
        add_prediction(frame, contract.prediction, model.score_frame(frame))
    return with_labels(frame, contract)


def with_labels(frame: pd.DataFrame, contract: DataContract) -> pd.DataFrame:
    """The target as the task encodes it, as models are judged; a window whose labels
    have not all arrived is compared without them."""
    target = contract.target.name
    if target not in frame.columns:
        return frame
    if frame[target].isna().any():
        return frame.drop(columns=target)
    return frame.assign(**{target: labels(frame, contract)})
