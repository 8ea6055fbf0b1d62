"""End to end: the real ingestion flow on a temporary Prefect server, and the CLI over it."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from {{ cookiecutter.package_name }}.cli import app
from {{ cookiecutter.package_name }}.data.batches import read_jsonl
from {{ cookiecutter.package_name }}.data.ingestion import BatchRejectedError
from {{ cookiecutter.package_name }}.flows import ingestion_flow
from {{ cookiecutter.package_name }}.settings import Settings
from worked_example import CATEGORY, FLOAT_FEATURE, TIMESTAMP, UNKNOWN_VALUE

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_server")]


def test_synthetic_batch_is_validated_and_stored_once(settings: Settings) -> None:
    record = ingestion_flow(rows=3_000, seed=11)
    assert record.status == "validated"
    stored = Path(record.path)
    assert stored.parent == settings.validated_dir
    assert len(pd.read_parquet(stored)) == 3_000
    assert (settings.data_docs_dir / "index.html").is_file()

    again = ingestion_flow(rows=3_000, seed=11)
    assert again.status == "duplicate"
    assert again.path == record.path
    assert list(settings.validated_dir.glob("*.parquet")) == [stored]
    assert [r["status"] for r in read_jsonl(settings.ingestion_log)] == ["validated", "duplicate"]


def test_bad_batch_fails_the_flow_and_is_quarantined(
    settings: Settings, tmp_path: Path, clean_batch: pd.DataFrame
) -> None:
    good = ingestion_flow(rows=1_000, seed=5)
    bad = clean_batch.copy()
    bad.loc[0, CATEGORY] = UNKNOWN_VALUE
    source = tmp_path / "incoming.csv"
    bad.to_csv(source, index=False)

    state = ingestion_flow(source=source, return_state=True)
    assert state.is_failed()
    with pytest.raises(BatchRejectedError, match=f"{CATEGORY}: 1 values") as rejected:
        state.result()

    quarantined = Path(rejected.value.record.path)
    assert quarantined.parent == settings.quarantine_dir
    pd.testing.assert_frame_equal(
        pd.read_parquet(quarantined),
        pd.read_csv(source).pipe(lambda f: f.assign(**{TIMESTAMP: pd.to_datetime(f[TIMESTAMP])})),
        check_dtype=False,
    )
    report = json.loads(quarantined.with_suffix(".report.json").read_text())
    assert report["success"] is False
    # The good data is untouched and nothing from the bad batch was promoted.
    assert list(settings.validated_dir.glob("*.parquet")) == [Path(good.path)]
    # The failed run refreshed the system report too (the hook flows.py wires, on failure as on
    # success).
    page = (settings.reports_dir / "index.html").read_text()
    assert "1 batches validated (1,000 rows), 1 rejected" in page


def test_cli_ingests_rejects_and_reports_status(
    settings: Settings, tmp_path: Path, clean_batch: pd.DataFrame
) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["ingest", "--rows", "1500", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("validated: batch ")

    source = tmp_path / "bad.parquet"
    clean_batch.drop(columns=[FLOAT_FEATURE]).to_parquet(source)
    result = runner.invoke(app, ["ingest", "--source", str(source)])
    assert result.exit_code == 1
    assert f"missing ['{FLOAT_FEATURE}']" in result.output

    result = runner.invoke(app, ["ingest", "--source", str(tmp_path / "absent.csv")])
    assert result.exit_code == 2
    assert "no such file" in result.output

    status = json.loads(runner.invoke(app, ["status", "--json"]).output)
    assert status["ingestion"]["validated_batches"] == 1
    assert status["ingestion"]["quarantined_batches"] == 1
    assert status["ingestion"]["validated_rows"] == 1500
    assert status["ingestion"]["runs"] == 3  # the missing file is logged too
    assert status["ingestion"]["last_run"]["status"] == "unreadable"
    assert status["settings"]["project_dir"] == str(settings.project_dir)


def on_a_terminal(command: list[str]) -> tuple[int, str]:
    """Run `command` with stderr on a pseudo-terminal: its exit code and what it showed there."""
    primary, secondary = pty.openpty()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=secondary)
    os.close(secondary)
    shown = bytearray()
    while True:
        try:
            chunk = os.read(primary, 65_536)
        except OSError:  # EIO: the process closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    os.close(primary)
    return process.wait(timeout=120), shown.decode(errors="replace")


def test_cli_shows_each_step_on_a_terminal_and_not_in_a_log(settings: Settings) -> None:
    command = [sys.executable, "-m", "{{ cookiecutter.package_name }}", "ingest", "--rows", "1000"]
    code, shown = on_a_terminal(command)
    assert code == 0, shown
    for step in ("load batch", "validate", "store"):
        assert f"-> ingestion: {step}" in shown, shown
        assert re.search(rf"ok ingestion: {step}  [\d.]+ s", shown), shown

    logged = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert logged.returncode == 0, logged.stderr
    assert "-> ingestion" not in logged.stderr + logged.stdout


def test_cli_ingests_a_folder_and_names_each_refused_file(
    settings: Settings, tmp_path: Path, clean_batch: pd.DataFrame
) -> None:
    folder = tmp_path / "incoming"
    folder.mkdir()
    runner = CliRunner()
    empty = runner.invoke(app, ["ingest", "--source", str(folder)])
    assert empty.exit_code == 2 and "holds no batch to ingest" in empty.output

    clean_batch.to_parquet(folder / "monday.parquet")
    bad = clean_batch.copy()
    bad.loc[0, CATEGORY] = UNKNOWN_VALUE
    bad.to_csv(folder / "tuesday.csv", index=False)
    result = runner.invoke(app, ["ingest", "--source", str(folder)])
    assert result.exit_code == 1, result.output
    assert "1 of 2 batches were refused" in result.output
    assert "tuesday.csv: rejected" in result.output and f"{CATEGORY}: 1 values" in result.output
    logged = read_jsonl(settings.ingestion_log)
    assert [(Path(r["source"]).name, r["status"]) for r in logged] == [
        ("incoming", "unreadable"),  # while it was empty
        ("monday.parquet", "validated"),
        ("tuesday.csv", "rejected"),
    ]
    (folder / "tuesday.csv").unlink()
    again = runner.invoke(app, ["ingest", "--source", str(folder)])
    assert again.exit_code == 0, again.output
    assert "monday.parquet: duplicate" in again.output
