"""Training data: the validated store (`data.validated`) split for training and judging, by time
when there is a time."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..contract import DataContract
from ..contract.target import STRATIFY_HOLDOUT
from ..data.validated import NoTrainingDataError
from ..modeling.features import groups


@dataclass(frozen=True)
class Split:
    train: pd.DataFrame
    holdout: pd.DataFrame
    method: str
    holdout_labels: pd.Series  # the holdout's target as the task encodes it
    # Each holdout row's group (its query) as a code, when the contract has a group column:
    # a ranking is judged per group.
    holdout_groups: np.ndarray | None = None


def split_by_time(
    frame: pd.DataFrame,
    contract: DataContract,
    holdout_fraction: float,
    seed: int,
    batch_rows: list[int] | None = None,
) -> Split:
    """Hold out the latest `holdout_fraction` of rows by event time: the model is judged on
    data from after what it learned from, as it will be in production.

    Without a timestamp column, "latest" is the newest batches (`batch_rows`, in ingestion
    order): the holdout is a seeded random sample (stratified by a class target), of the rows of
    the newest batches that hold enough rows. So after new data arrives, the new model and the
    champion are both judged on rows the champion never trained on.

    Rows of one group (a ranking's query) stay together: on one side of the time cut-off (a
    group's time is its first row's), or sampled as a whole."""
    target = contract.target.name
    timestamp = contract.timestamp_column
    group = contract.group_column
    whole = "" if group is None else f", whole {group} groups"
    if timestamp is None:
        wanted = round(len(frame) * holdout_fraction)
        pool_rows, newest = 0, 0
        for rows in reversed(batch_rows or [len(frame)]):
            if pool_rows >= wanted:
                break
            pool_rows, newest = pool_rows + rows, newest + 1
        pool = frame.iloc[len(frame) - pool_rows :]
        share = min(1.0, wanted / max(pool_rows, 1))
        if group is not None:
            chosen = pool[group].drop_duplicates().sample(frac=share, random_state=seed)
            holdout = pool[pool[group].isin(chosen)]
        elif STRATIFY_HOLDOUT:
            holdout = pool.groupby(target, group_keys=False).sample(frac=share, random_state=seed)
        else:
            holdout = pool.sample(frac=share, random_state=seed)
        train = frame.drop(holdout.index)
        where = "all rows" if pool_rows >= len(frame) else f"the newest {newest} batch(es)"
        stratified = f", stratified by {target}" if STRATIFY_HOLDOUT else ""
        method = f"random from {where}{stratified}{whole}, seed {seed}"
    else:
        when = frame[timestamp]
        if group is not None:
            when = when.groupby(frame[group], sort=False).transform("min")
        cutoff = when.quantile(1 - holdout_fraction)
        is_holdout = when >= cutoff
        train, holdout = frame[~is_holdout], frame[is_holdout]
        method = f"time: holdout is {timestamp} >= {cutoff}{whole}"
    for part, name in ((train, "training"), (holdout, "holdout")):
        if part[target].nunique() < 2:
            raise NoTrainingDataError(
                f"the {name} set has {len(part)} rows and a single value of {target}: "
                "ingest more data before training"
            )
    holdout = holdout.reset_index(drop=True)
    return Split(
        train=train.reset_index(drop=True),
        holdout=holdout,
        method=method,
        holdout_labels=contract.encode_target(holdout[target]),
        holdout_groups=groups(holdout, contract),
    )
