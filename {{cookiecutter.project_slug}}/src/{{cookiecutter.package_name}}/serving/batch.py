"""Batch scoring: score a CSV or Parquet file with the champion, write the scores with the
model version. The Prefect flow is in `flow.py`.

In this process the file is read whole. On a Dask cluster (`MLSD_DASK_ADDRESS`, cluster.py) it
is read, scored and written partition by partition, so no process holds all of it; the scores
are the same, row for row.
"""

from __future__ import annotations

import hashlib
import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .. import progress
from ..contract import DataContract
from ..contract.prediction import scored_frame
from ..data.batches import (
    BatchReadError,
    content_hash,
    normalise,
    read_batch,
    readable_suffix,
    store_once,
    text_columns,
)
from ..settings import ScoringPath, Settings
from ..training import registry
from ..training.scoring import load_scoring_model
from .scorer import NoChampionError, loaded_once

if TYPE_CHECKING:
    import dask.dataframe as dd

# A CSV is cut into partitions of about this size (Parquet files by their row groups).
PARTITION_BYTES = 64 * 2**20
SCORING_CHUNK_ROWS = 250_000
ON_CLUSTER_HINT = (
    "; on a Dask cluster a file carries its entity features (without MLSD_DASK_ADDRESS, the "
    "feature store joins them)"
)


def read_features(
    source: Path, contract: DataContract, settings: Settings | None = None
) -> pd.DataFrame:
    """The batch to score; the target may be absent, every feature must be there. With the
    feature store on (`settings`), a file may carry an entity's key instead of its features:
    they are joined from the offline store as of each row's time, as training joins them (a key
    unknown then gets the cold-start values, as the service serves it)."""
    frame = read_batch(source, contract)
    if settings is not None and settings.uses_feature_store:
        frame = with_stored_features(frame, contract, settings, source)
    return require_features(frame, contract, source)


def with_stored_features(
    frame: pd.DataFrame, contract: DataContract, settings: Settings, source: Path
) -> pd.DataFrame:
    from ..data import feature_store

    absent = [
        view
        for view in feature_store.views(contract)
        if not any(name in frame.columns for name in view.features)
    ]
    if not absent:  # the file carries its features: scored as they are
        return frame
    needed = [view.key for view in absent] + [contract.timestamp_column or ""]
    if missing := [name for name in needed if name not in frame.columns]:
        raise BatchReadError(
            f"{source}: missing column(s) {', '.join(missing)}: the feature store joins an "
            "entity's features by its key as of the row's time"
        )
    cold_start = feature_store.read_cold_start(settings)
    return feature_store.point_in_time(frame, contract, settings, cold_start=cold_start)


def require_features(
    frame: pd.DataFrame, contract: DataContract, source: Path, hint: str = ""
) -> pd.DataFrame:
    missing = [column.name for column in contract.features if column.name not in frame.columns]
    if missing:
        raise BatchReadError(f"{source}: missing feature column(s) {', '.join(missing)}{hint}")
    return frame


def score_frame(
    frame: pd.DataFrame,
    version: registry.ModelVersion,
    contract: DataContract,
    scoring_path: ScoringPath = "compiled",
) -> pd.DataFrame:
    """`frame` with the task's prediction fields (`score`) and the `model_version` that
    produced them."""
    model = load_scoring_model(version, contract, scoring_path)
    if len(frame) <= SCORING_CHUNK_ROWS:
        return with_scores(frame, model.score_frame(frame), version, contract)
    # A large file is scored in chunks (rows are scored one by one, so the result is the same)
    # to show its progress on a terminal.
    bar = progress.Bar("scoring", len(frame), "rows")
    parts = []
    for start in range(0, len(frame), SCORING_CHUNK_ROWS):
        chunk = frame.iloc[start : start + SCORING_CHUNK_ROWS]
        parts.append(model.score_frame(chunk))
        bar.advance(len(chunk))
    return with_scores(frame, np.concatenate(parts), version, contract)


def with_scores(
    frame: pd.DataFrame,
    scores: np.ndarray,
    version: registry.ModelVersion,
    contract: DataContract,
) -> pd.DataFrame:
    return scored_frame(frame, contract.prediction, scores, model_version=version.version)


def champion(name: str) -> registry.ModelVersion:
    found = registry.version_by_alias(name, registry.CHAMPION)
    if found is None:
        raise NoChampionError("no champion model in the registry yet: train one (`train`)")
    return found


def write_scores(scored: pd.DataFrame, folder: Path, source: Path) -> Path:
    """Immutable output named after the input and the content, stored once like batches."""
    data_hash = content_hash(scored)
    stored, _ = store_once(scored, folder, f"{source.stem}-{data_hash}", data_hash)
    return stored


def read_partitions(
    source: Path, contract: DataContract, feature_store: bool = False
) -> dd.DataFrame:
    """`source` as a Dask DataFrame (nothing read yet but its columns), each partition as
    `read_features` would read it; every feature must be there, the entity features too (the
    feature store is not joined on the cluster)."""
    import dask
    import dask.dataframe as dd

    # Text stays as numpy objects, as pandas reads it here: the models see the same values.
    with dask.config.set({"dataframe.convert-string": False}):
        if readable_suffix(source) == ".csv":
            frame = dd.read_csv(source, dtype=text_columns(contract), blocksize=PARTITION_BYTES)
        else:
            frame = dd.read_parquet(source, split_row_groups=True)
        # The columns' types after `normalise`, worked out on the empty frame Dask infers.
        meta = normalise(frame._meta.copy(), contract)
        require_features(meta, contract, source, ON_CLUSTER_HINT if feature_store else "")
        return frame.map_partitions(normalise, contract, meta=meta)


def score_partition(
    partition: pd.DataFrame,
    version: registry.ModelVersion,
    contract: DataContract,
    scoring_path: ScoringPath,
    tracking_uri: str,
) -> pd.DataFrame:
    """`score_frame` on a Dask worker: the model is loaded once per worker process."""
    model = loaded_once(version, contract, scoring_path, tracking_uri)
    return with_scores(partition, model.score_frame(partition), version, contract)


def part_name(number: int) -> str:
    """Zero-padded, so that the parts sort in row order by name (pandas reads them so)."""
    return f"part-{number:05d}.parquet"


def partition_hash(partition: pd.DataFrame) -> pd.Series:
    return pd.Series([content_hash(partition)])


def score_on_cluster(
    frame: dd.DataFrame,
    source: Path,
    version: registry.ModelVersion,
    contract: DataContract,
    settings: Settings,
) -> tuple[Path, int]:
    """Score `frame` (`read_partitions` of `source`) on the Dask cluster of
    `settings.dask_address` and write the scores as a folder of Parquet parts,
    `<source stem>-<hash of the parts>`, stored once like `write_scores`; that folder and how
    many rows it holds."""
    import dask

    from ..cluster import dask_client

    if not settings.dask_address:
        raise ValueError("no Dask cluster configured")
    folder = settings.scored_dir
    with (
        dask.config.set({"dataframe.convert-string": False}),
        dask_client(settings.dask_address) as client,
    ):
        shape = contract.prediction
        meta = scored_frame(
            frame._meta,
            shape,
            shape.empty_output(),
            model_version=pd.Series(dtype="object"),
        )
        scored = frame.map_partitions(
            score_partition,
            version,
            contract,
            settings.scoring_path,
            settings.tracking_uri,
            meta=meta,
        )
        staging = folder / f".{source.stem}-{uuid.uuid4().hex}"
        written = scored.to_parquet(
            staging, write_index=False, compute=False, name_function=part_name
        )
        hashes = scored.map_partitions(partition_hash, meta=pd.Series(dtype="object"))
        sizes = scored.map_partitions(len)
        # One pass: the parts are written, hashed and counted from the same scored partitions.
        _, part_hashes, rows = dask.compute(written, hashes, sizes.sum(), scheduler=client)
    digest = hashlib.sha256("".join(part_hashes).encode()).hexdigest()[:16]
    target = folder / f"{source.stem}-{digest}"
    if target.exists():  # the same scores are stored already
        shutil.rmtree(staging)
    else:
        staging.rename(target)
    return target, int(rows)
