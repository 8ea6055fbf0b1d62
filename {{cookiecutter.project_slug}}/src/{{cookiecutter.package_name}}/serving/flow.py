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


@flow(name="batch-scoring", persist_result=True)  # read back by `deployments.run_deployed`
def scoring_flow(source: Path) -> Path:
    """Score every row of `source` with the current champion; return the Parquet written."""
    settings = get_settings()
    contract = load_contract(settings.contract_file)
    registry.connect(settings)
    frame: pd.DataFrame = read_features(source, contract)
    version = find_champion(settings.registered_model_name)
    scored = score_frame(frame, version, contract, settings.scoring_path)
    output: Path = write_scores(scored, settings.scored_dir, source)
    get_run_logger().info(
        "scored %d rows of %s with %s v%s -> %s",
        len(scored), source, version.name, version.version, output,
    )  # fmt: skip
    return output
