"""The feature store's costs (a project generated with feature_store=feast): loading the offline
store and materializing, the point-in-time join training makes, and the online lookup the
service makes inside each answer (p50/p99 per call, for 1, 64 and 1,024 records), against the
SQLite online store and, when redis-server is installed, a Redis one.

    uv run python bench/feature_store.py
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from {{ cookiecutter.package_name }}.contract import load_contract
from {{ cookiecutter.package_name }}.data import feature_store
from {{ cookiecutter.package_name }}.data.synthetic import generate_batch
from {{ cookiecutter.package_name }}.settings import Settings
from {{ cookiecutter.package_name }}.stack import start_redis

ROWS = (50_000, 250_000)
LOOKUP_SIZES = (1, 64, 1_024)
CALLS = 300


def timed(work: Callable[..., Any], *arguments: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = work(*arguments)
    return result, time.perf_counter() - started


def lookup_latencies(online: feature_store.OnlineFeatures, keys: np.ndarray) -> None:
    rng = np.random.default_rng(0)
    for size in LOOKUP_SIZES:
        calls = max(CALLS // max(size // 64, 1), 20)
        millis = []
        for _ in range(calls):
            rows = [{"user_id": key} for key in rng.choice(keys, size)]
            millis.append(timed(online.lookup, rows)[1] * 1000)
        p50, p99 = np.percentile(millis, [50, 99])
        print(f"  {size:>5,} records a call: p50 {p50:6.2f} ms, p99 {p99:6.2f} ms, {calls} calls")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="mlsd-bench-features-") as folder:
        settings = Settings(project_dir=Path(folder), feature_store="feast")
        contract = load_contract(settings.contract_file)
        _, imports = timed(feature_store.open_store, settings)  # Feast's import, once a process
        print(f"import Feast and open the store: {imports:5.2f} s")
        for rows in ROWS:
            frame = generate_batch(rows, seed=1)
            loaded, load = timed(feature_store.load_offline, frame, contract, settings)
            store, through = feature_store.open_store(settings), loaded.through
            _, materialize = timed(feature_store.materialize, store, contract, settings, through)
            _, join = timed(feature_store.point_in_time, frame, contract, settings)
            print(
                f"{rows:>9,} rows: offline load {load:5.2f} s, materialize {materialize:5.2f} s, "
                f"point-in-time join {join:5.2f} s"
            )
        keys = frame["user_id"].unique()
        print(f"online lookups, SQLite ({len(keys):,} keys):")
        lookup_latencies(feature_store.OnlineFeatures(contract, settings), keys)
        if shutil.which("redis-server") is None:
            print("online lookups, Redis: skipped (no redis-server on PATH)")
            return
        server = start_redis(Path(folder) / "redis")
        try:
            redis = settings.model_copy(update={"feature_online_store": server.address})
            feature_store.materialize(feature_store.open_store(redis), contract, redis, through)
            print(f"online lookups, Redis ({server.address}):")
            lookup_latencies(feature_store.OnlineFeatures(contract, redis), keys)
        finally:
            server.stop()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning")
    main()
