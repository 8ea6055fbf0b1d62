"""The steps that run on Dask give what they give in one process: batch scoring the same scores,
row for row; ingesting a folder the same outcome for every batch; a parameter search the same
trials and choice; monitoring the same reference sample and verdict. On a real `dask scheduler`
with two `dask worker` processes started here, and (batch scoring) on the local worker
processes `MLSD_DASK_ADDRESS=local` starts for the command."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from mlflow import MlflowClient
from typer.testing import CliRunner

from {{ cookiecutter.package_name }}.cli import app
from {{ cookiecutter.package_name }}.contract import DataContract
from {{ cookiecutter.package_name }}.data.flow import folder_ingestion_flow, ingestion_flow
from {{ cookiecutter.package_name }}.data.folder import BatchesRefusedError
from {{ cookiecutter.package_name }}.data.synthetic import generate_batch
from {{ cookiecutter.package_name }}.modeling import chosen_model
from {{ cookiecutter.package_name }}.monitoring.drift import DriftSummary
from {{ cookiecutter.package_name }}.monitoring.flow import monitoring_flow
from {{ cookiecutter.package_name }}.processes import free_port, start_process
from {{ cookiecutter.package_name }}.requirements import load_requirements
from {{ cookiecutter.package_name }}.serving import batch
from {{ cookiecutter.package_name }}.serving.flow import scoring_flow
from {{ cookiecutter.package_name }}.settings import ENV_PREFIX, Settings
from {{ cookiecutter.package_name }}.training.flow import training_flow
from {{ cookiecutter.package_name }}.training.search import search
from worked_example import CATEGORY, FLOAT_FEATURE, TARGET, UNKNOWN_VALUE

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_server")]

DASK = str(Path(sys.executable).parent / "dask")


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Dask scheduler and two single-threaded workers, as separate processes on 127.0.0.1,
    their scratch space in the test's folders."""
    from distributed import Client

    address = f"tcp://127.0.0.1:{free_port()}"
    port = address.rsplit(":", 1)[1]
    host = ["--host", "127.0.0.1", "--no-dashboard"]
    # Dask's scratch space (locks, spilled data) in the test's folders, not the temporary one.
    scratch = {"DASK_TEMPORARY_DIRECTORY": str(tmp_path_factory.mktemp("dask-scratch"))}
    started = [start_process([DASK, "scheduler", "--port", port, *host], scratch)]
    worker = [DASK, "worker", address, "--nworkers", "1", "--nthreads", "1", *host]
    env = scratch | {"PATH": str(Path(DASK).parent)}
    started += [start_process(worker, env) for _ in range(2)]
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


def test_a_folder_ingested_on_dask_has_the_outcomes_of_one_process(
    scheduler: str, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "incoming"
    folder.mkdir()
    for day in range(3):
        generate_batch(rows=2_000, seed=day).to_parquet(folder / f"day-{day}.parquet")
    # The same content twice: stored once, whichever worker gets to it first.
    (folder / "day-0-copy.parquet").write_bytes((folder / "day-0.parquet").read_bytes())
    broken = generate_batch(rows=2_000, seed=7)
    broken.loc[5, CATEGORY] = UNKNOWN_VALUE
    broken.to_csv(folder / "day-7.csv", index=False)
    (folder / "truncated.parquet").write_bytes(b"PAR1 cut short")
    (folder / "README.txt").write_text("not a batch")

    def outcomes() -> list[tuple[str, str, int, str, list[str]]]:
        state = folder_ingestion_flow(folder, return_state=True)
        refused = state.result(raise_on_failure=False)
        assert isinstance(refused, BatchesRefusedError), refused
        assert "2 of 6 batches were refused" in str(refused)
        logged = [line for line in settings.ingestion_log.read_text().splitlines() if line]
        assert len(logged) == 6
        for stored in settings.validated_dir.glob("*.parquet"):
            stored.unlink()
        for quarantined in settings.quarantine_dir.iterdir():
            quarantined.unlink()
        settings.ingestion_log.unlink()
        return [
            (Path(r.source).name, r.status, r.rows, r.data_hash, r.failures)
            for r in refused.records
        ]

    in_one_process = outcomes()
    assert [(name, status) for name, status, *_ in in_one_process] == [
        ("day-0-copy.parquet", "validated"),
        ("day-0.parquet", "duplicate"),
        ("day-1.parquet", "validated"),
        ("day-2.parquet", "validated"),
        ("day-7.csv", "rejected"),
        ("truncated.parquet", "unreadable"),
    ]
    monkeypatch.setenv(f"{ENV_PREFIX}DASK_ADDRESS", scheduler)
    assert outcomes() == in_one_process


def test_a_parameter_search_on_dask_chooses_what_one_process_chooses(
    scheduler: str, settings: Settings, contract: DataContract, monkeypatch: pytest.MonkeyPatch
) -> None:
    offline = load_requirements(settings.requirements_file).offline_metrics
    rows = generate_batch(rows=8_000, seed=3)
    arguments = (chosen_model(settings), rows, contract, offline, 4, settings.seed, 0.25)
    here = search(*arguments)
    there = search(*arguments, dask_address=scheduler)
    assert len(here.trials) == 4
    assert len({repr(sorted(trial.params.items())) for trial in here.trials}) == 4
    assert [t.params for t in there.trials] == [t.params for t in here.trials]
    assert [t.metric for t in there.trials] == pytest.approx([t.metric for t in here.trials])
    assert there.best.params == here.best.params
    best = max if offline.higher_is_better else min
    assert here.best.metric == best(trial.metric for trial in here.trials)

    # Training with a search on the cluster registers the best of the sets it tried.
    ingestion_flow(rows=8_000, seed=3)
    monkeypatch.setenv(f"{ENV_PREFIX}SEARCH_TRIALS", "3")
    monkeypatch.setenv(f"{ENV_PREFIX}DASK_ADDRESS", scheduler)
    outcome = training_flow()
    report = json.loads((Path(outcome.report_dir) / "metrics.json").read_text())
    assert len(report["search"]["trials"]) == 3
    best = report["search"]["best"]
    assert best in [trial["params"] for trial in report["search"]["trials"]]
    logged = MlflowClient().get_run(outcome.registered.run_id).data.params
    assert logged["search_trials"] == "3"
    for name, value in best.items():
        assert logged[f"model.{name.removeprefix('model__')}"] == str(value)


def test_monitoring_on_dask_samples_and_judges_as_one_process(
    scheduler: str, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for seed in (1, 2, 3):
        ingestion_flow(rows=3_000, seed=seed)
    training_flow()
    # Fewer rows per side than the champion's 9,000 training rows: the reference is sampled.
    monkeypatch.setenv(f"{ENV_PREFIX}MONITORING_SAMPLE_ROWS", "2000")
    batch_file = tmp_path / "shifted.parquet"
    generate_batch(rows=3_000, seed=4, drift="covariate").to_parquet(batch_file)

    def judged() -> tuple[str, DriftSummary]:
        outcome = monitoring_flow(source=batch_file, retrain=False)
        return outcome.action, outcome.summary

    in_one_process = judged()
    monkeypatch.setenv(f"{ENV_PREFIX}DASK_ADDRESS", scheduler)
    on_dask = judged()
    assert on_dask == in_one_process
    action, summary = in_one_process
    # (A ranking keeps whole queries: up to 2,000 rows.)
    assert action != "too_few_rows" and 0 < summary.reference_rows <= 2_000, summary
