"""Batch scoring on Dask gives the scores that scoring in one process gives, row for row: on a
real `dask scheduler` with two `dask worker` processes started here, and on the local worker
processes `MLSD_DASK_ADDRESS=local` starts for the command."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from {{ cookiecutter.package_name }}.cli import app
from {{ cookiecutter.package_name }}.data.flow import ingestion_flow
from {{ cookiecutter.package_name }}.data.synthetic import generate_batch
from {{ cookiecutter.package_name }}.serving import batch
from {{ cookiecutter.package_name }}.serving.flow import scoring_flow
from {{ cookiecutter.package_name }}.serving.local import free_port, start_process
from {{ cookiecutter.package_name }}.settings import ENV_PREFIX, Settings
from {{ cookiecutter.package_name }}.training.flow import training_flow
from worked_example import FLOAT_FEATURE, TARGET

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_server")]

DASK = str(Path(sys.executable).parent / "dask")


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """A Dask scheduler and two single-threaded workers, as separate processes on 127.0.0.1."""
    from distributed import Client

    address = f"tcp://127.0.0.1:{free_port()}"
    port = address.rsplit(":", 1)[1]
    host = ["--host", "127.0.0.1", "--no-dashboard"]
    started = [start_process([DASK, "scheduler", "--port", port, *host], {})]
    worker = [DASK, "worker", address, "--nworkers", "1", "--nthreads", "1", *host]
    started += [start_process(worker, {"PATH": str(Path(DASK).parent)}) for _ in range(2)]
    try:
        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
        yield address
    finally:
        for process in started:
            process.terminate()
        for process in started:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.mark.parametrize("where", ["scheduler", "local"])
def test_scores_on_dask_equal_scores_in_one_process(
    where: str,
    scheduler: str,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ingestion_flow(rows=5_000, seed=1)
    version = training_flow().registered.version
    frame = generate_batch(rows=12_000, seed=9).drop(columns=[TARGET])
    parquet = tmp_path / "many_row_groups.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), parquet, row_group_size=1_000)
    csv = tmp_path / "large.csv"
    frame.to_csv(csv, index=False)
    monkeypatch.setattr(batch, "PARTITION_BYTES", csv.stat().st_size // 5)

    for source in (parquet, csv):
        in_one_process = pd.read_parquet(scoring_flow(source))
        monkeypatch.setenv(f"{ENV_PREFIX}DASK_ADDRESS", "local" if where == "local" else scheduler)
        on_dask = scoring_flow(source)
        monkeypatch.delenv(f"{ENV_PREFIX}DASK_ADDRESS")

        assert on_dask.is_dir() and on_dask.parent == settings.scored_dir
        parts = sorted(on_dask.glob("part-*.parquet"))
        assert len(parts) >= 5, parts  # really cut into partitions
        scored = pd.read_parquet(on_dask)
        assert set(scored["model_version"]) == {version}
        pd.testing.assert_frame_equal(scored, in_one_process)
        # The same scores again are stored once.
        monkeypatch.setenv(f"{ENV_PREFIX}DASK_ADDRESS", scheduler)
        assert scoring_flow(source) == on_dask
        monkeypatch.delenv(f"{ENV_PREFIX}DASK_ADDRESS")
    assert not list(settings.scored_dir.glob(".*"))  # no staging folder left


def test_a_file_without_a_feature_is_refused_before_the_cluster_is_reached(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "incomplete.parquet"
    generate_batch(rows=50, seed=9).drop(columns=[FLOAT_FEATURE]).to_parquet(source)
    # Nothing listens there: the answer must come from reading the file's columns alone.
    monkeypatch.setenv(f"{ENV_PREFIX}DASK_ADDRESS", f"tcp://127.0.0.1:{free_port()}")
    result = CliRunner().invoke(app, ["score", str(source)])
    assert result.exit_code == 2
    assert f"missing feature column(s) {FLOAT_FEATURE}" in result.output
