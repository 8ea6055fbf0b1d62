"""The service as a local child process, and the records a client sends it.

The closed loop (`make all`), the serving benchmark and the end-to-end tests all start the real
server on a free 127.0.0.1 port, wait until it answers, send records, and stop it (the process
helpers are `processes.py`'s).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ..contract import ColumnLevel, DataContract
from ..modeling.features import groups
from ..processes import LocalServer, child_environment, free_port, start_process

SERVICE = f"{__package__}.service:PredictionService"


def start_service(
    project_dir: Path,
    port: int | None = None,
    log: Path | None = None,
    wait: bool = True,
    settings: Mapping[str, str] | None = None,
) -> LocalServer:
    """The BentoML service for `project_dir` on 127.0.0.1, started the way `serve` starts it,
    with these `settings` (MLSD_ variables) on top of the project's own. Returns once it is live
    (at once with `wait=False`: call `wait_until_up` later); `/readyz` says whether a champion
    is loaded."""
    port = port or free_port()
    env = child_environment(project_dir) | dict(settings or {})
    command = [
        sys.executable, "-m", "bentoml", "serve", SERVICE,
        "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip
    server = LocalServer(url=f"http://127.0.0.1:{port}", process=start_process(command, env, log))
    return server.wait_until_up() if wait else server


def request_records(
    frame: pd.DataFrame,
    contract: DataContract,
    level: ColumnLevel | None = None,
    feature_store: bool = False,
) -> list[dict[str, Any]]:
    """Rows of a batch as request records (/predict's, or a ranking request's query or
    candidates: one `level`): the features, id, timestamp and group, in JSON form (timestamps,
    naive UTC in a batch, as RFC 3339 with their offset: the API's format). With a
    `feature_store`, entity keys instead of the features it serves."""
    columns = contract.request_columns(level, feature_store)
    subset = frame[columns]
    records: list[dict[str, Any]] = json.loads(
        subset.to_json(orient="records", date_format="iso", date_unit="s")
    )
    # pandas writes floats with 10 decimals; the value itself, as a client would send it (a
    # value that equals a tree's split threshold must stay on its side of it).
    floats = [name for name in columns if pd.api.types.is_float_dtype(subset[name])]
    for name in floats:
        for record, value in zip(records, subset[name].tolist(), strict=True):
            record[name] = None if value != value else value  # NaN is null
    for column in contract.columns:
        if column.name in columns and column.definition.json_suffix:
            for record in records:
                if isinstance(record[column.name], str):
                    record[column.name] += column.definition.json_suffix
    return records


def ranking_requests(
    frame: pd.DataFrame, contract: DataContract, max_candidates: int
) -> list[dict[str, Any]]:
    """Rows of a batch as /rank bodies, one per query (the contract's group) in the order the
    queries first appear: the query's columns from its first row, each row a candidate. A query
    with more than `max_candidates` rows is sent as several requests."""
    codes = groups(frame, contract)
    if codes is None:
        raise ValueError(f"contract {contract.name!r} has no group column: nothing to rank")
    queries = request_records(frame, contract, "query")
    candidates = request_records(frame, contract, "row")
    lists: dict[int, tuple[dict[str, Any], list[dict[str, Any]]]] = {}
    for code, query, candidate in zip(codes, queries, candidates, strict=True):
        lists.setdefault(int(code), (query, []))[1].append(candidate)
    return [
        {"query": query, "candidates": rows[start : start + max_candidates]}
        for query, rows in lists.values()
        for start in range(0, len(rows), max_candidates)
    ]
