"""Scaling benchmark: in one process, then on Dask with two local worker processes
(`MLSD_DASK_ADDRESS=local`), (1) batch scoring of a large file and (2) ingesting a folder of
large batches (each validated by GX, then stored); wall time and peak RSS of each process, and
whether the results are the same.

One throw-away project: a champion is trained on 50k rows, then a Parquet file of `--rows` rows
(row groups of 500k) and `--batches` Parquet batches of `--batch-rows` rows are written. Each
run is its own subprocess, so its peak RSS is its own; the processes it starts (Prefect's
temporary server, Dask's workers) are sampled for theirs.

    python bench/scaling.py                  # 5M rows to score; ten 1M-row batches
    python bench/scaling.py --rows 1000000 --batches 4 --batch-rows 200000
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from {{ cookiecutter.package_name }}.settings import Settings
from harness import peak_rss_mb, project_environment

ROW_GROUP = 500_000


def prepare(rows: int, source: Path, batches: int, batch_rows: int, folder: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from {{ cookiecutter.package_name }}.contract import load_contract
    from {{ cookiecutter.package_name }}.data.flow import ingestion_flow
    from {{ cookiecutter.package_name }}.data.synthetic import generate_batch
    from {{ cookiecutter.package_name }}.settings import get_settings
    from {{ cookiecutter.package_name }}.training.flow import training_flow

    ingestion_flow(rows=50_000, seed=1)
    if not training_flow().decision.promote:
        raise RuntimeError("the first model was not promoted: nothing to score with")
    target = load_contract(get_settings().contract_file).target.name
    writer = None
    for start in range(0, rows, ROW_GROUP):
        part = generate_batch(rows=min(ROW_GROUP, rows - start), seed=100 + start)
        table = pa.Table.from_pandas(part.drop(columns=[target]), preserve_index=False)
        writer = writer or pq.ParquetWriter(source, table.schema)
        writer.write_table(table)
    if writer is not None:
        writer.close()
    folder.mkdir()
    for day in range(batches):
        batch = generate_batch(rows=batch_rows, seed=1_000 + day)
        batch.to_parquet(folder / f"batch-{day:02d}.parquet", index=False)


class ChildrenPeak:
    """The peak RSS of each process started under this one (Dask's workers), sampled."""

    def __init__(self, every: float = 0.1) -> None:
        self.peaks: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, args=(every,), daemon=True)

    def _sample(self, every: float) -> None:
        import psutil

        me = psutil.Process()
        while not self._stop.wait(every):
            for child in me.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    rss = child.memory_info().rss / 2**20
                    self.peaks[child.pid] = max(rss, self.peaks.get(child.pid, 0.0))

    def __enter__(self) -> ChildrenPeak:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def measured(mode: str, source: Path) -> dict[str, Any]:
    """Score the file or ingest the folder `source` the way the environment says
    (MLSD_DASK_ADDRESS); the peak RSS of this process and of every process it started
    (Prefect's server, Dask's workers)."""
    from {{ cookiecutter.package_name }}.data.flow import folder_ingestion_flow
    from {{ cookiecutter.package_name }}.serving.flow import scoring_flow

    with ChildrenPeak() as children:
        started = time.perf_counter()
        if mode == "score":
            output: Any = str(scoring_flow(source))
        else:
            output = [
                [Path(r.source).name, r.status, r.rows, r.data_hash, r.failures]
                for r in folder_ingestion_flow(source)
            ]
        wall = time.perf_counter() - started
    return {
        "wall_s": round(wall, 1),
        "peak_rss_mb": round(peak_rss_mb()),
        "children_peak_rss_mb": sorted(round(peak) for peak in children.peaks.values()),
        "output": output,
    }


def report(title: str, one: dict[str, Any], dask: dict[str, Any], same: bool) -> None:
    print(title)
    for name, run in (("one process", one), ("Dask, 2 local workers", dask)):
        children = ", ".join(f"{peak:,}" for peak in run["children_peak_rss_mb"])
        print(
            f"  {name:<22} {run['wall_s']:>6} s; peak RSS MB: this process "
            f"{run['peak_rss_mb']:,}, the processes it started {children}"
        )
    print(f"  same results: {same}")


def run_worker(mode: str, env: dict[str, str], argument: str) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, __file__, "--worker", mode, argument],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{mode} failed:\n{completed.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000, help="rows to score")
    parser.add_argument("--batches", type=int, default=10, help="batches to ingest")
    parser.add_argument("--batch-rows", type=int, default=1_000_000)
    parser.add_argument(
        "--only", choices=["scoring", "ingestion"], help="run one of the two benchmarks"
    )
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        mode, argument = args.worker
        if mode == "prepare":
            rows, source, batches, batch_rows, folder = argument.split("|")
            prepare(int(rows), Path(source), int(batches), int(batch_rows), Path(folder))
            print("{}")
        else:
            print(json.dumps(measured(mode, Path(argument))))
        return

    import pandas as pd

    with tempfile.TemporaryDirectory(prefix="mlsd-bench-") as project:
        env = project_environment(project)
        dask_env = env | {"MLSD_DASK_ADDRESS": "local"}
        source, folder = Path(project) / "to_score.parquet", Path(project) / "incoming"
        layout = f"{args.rows}|{source}|{args.batches}|{args.batch_rows}|{folder}"
        run_worker("prepare", env, layout)
        if args.only != "ingestion":
            one = run_worker("score", env, str(source))
            dask = run_worker("score", dask_env, str(source))
            same = pd.read_parquet(one["output"]).equals(pd.read_parquet(dask["output"]))
            title = f"batch scoring {args.rows:,} rows (row groups of {ROW_GROUP:,})"
            report(title, one, dask, same)
        if args.only == "scoring":
            return

        ingested_once = run_worker("ingest", env, str(folder))
        # The second run must store, not find duplicates: it starts from an empty folder.
        for stored in Settings(project_dir=Path(project)).validated_dir.glob("*.parquet"):
            stored.unlink()
        ingested_dask = run_worker("ingest", dask_env, str(folder))
        report(
            f"ingesting {args.batches} batches of {args.batch_rows:,} rows (GX, then stored)",
            ingested_once,
            ingested_dask,
            ingested_once["output"] == ingested_dask["output"],
        )


if __name__ == "__main__":
    main()
