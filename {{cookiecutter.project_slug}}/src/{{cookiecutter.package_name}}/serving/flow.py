"""The batch scoring flow: Prefect wiring over `batch.py`."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from ..contract import load_contract
from ..settings import get_settings
from ..training import registry
from . import batch

read_features = task(name="read-features", cache_policy=NO_CACHE)(batch.read_features)
find_champion = task(name="find-champion", cache_policy=NO_CACHE)(batch.champion)
score_frame = task(name="score", cache_policy=NO_CACHE)(batch.score_frame)
write_scores = task(name="write-scores", cache_policy=NO_CACHE)(batch.write_scores)
# On a Dask cluster: the file's partitions are read, scored and written in one task.
read_partitions = task(name="read-partitions", cache_policy=NO_CACHE)(batch.read_partitions)
score_partitions = task(name="score-on-dask", cache_policy=NO_CACHE)(batch.score_on_cluster)


@flow(name="batch-scoring", persist_result=True)  # read back by `deployments.run_deployed`
def scoring_flow(source: Path) -> Path:
    """Score every row of `source` with the current champion; return the Parquet written (a
    folder of parts when scored on a Dask cluster, `MLSD_DASK_ADDRESS`)."""
    settings = get_settings()
    contract = load_contract(settings.contract_file)
    registry.connect(settings)
    if settings.dask_address:
        partitions = read_partitions(source, contract, settings.uses_feature_store)
        version = find_champion(settings.registered_model_name)
        output, rows = score_partitions(partitions, source, version, contract, settings)
    else:
        frame: pd.DataFrame = read_features(source, contract, settings)
        version = find_champion(settings.registered_model_name)
        scored = score_frame(frame, version, contract, settings.scoring_path)
        output, rows = write_scores(scored, settings.scored_dir, source), len(scored)
    get_run_logger().info(
        "scored %d rows of %s with %s v%s -> %s",
        rows, source, version.name, version.version, output,
    )  # fmt: skip
    return output
