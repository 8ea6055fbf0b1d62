"""End to end: the batch scoring flow with the champion of a real registry, and its CLI."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from {{ cookiecutter.package_name }} import progress
from {{ cookiecutter.package_name }}.cli import app
from {{ cookiecutter.package_name }}.contract import load_contract
from {{ cookiecutter.package_name }}.data.flow import ingestion_flow
from {{ cookiecutter.package_name }}.data.synthetic import generate_batch
from {{ cookiecutter.package_name }}.serving import batch
from {{ cookiecutter.package_name }}.serving.flow import scoring_flow
from {{ cookiecutter.package_name }}.settings import Settings
from {{ cookiecutter.package_name }}.training.flow import training_flow
from worked_example import FLOAT_FEATURE, SCORE_RANGE, TARGET

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_server")]


def test_a_batch_is_scored_with_the_champion_version(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "to_score.csv"
    generate_batch(rows=500, seed=9).drop(columns=[TARGET]).to_csv(source, index=False)
    missing = CliRunner().invoke(app, ["score", str(source)])
    assert missing.exit_code == 2
    assert "no champion" in missing.output

    ingestion_flow(rows=5_000, seed=1)
    version = training_flow().registered.version
    # The CLI call above chose the tracking URI first (MLflow then exports it): artifacts must
    # still land in the project, not in a ./mlruns of the working directory.
    assert list(settings.mlflow_artifacts_dir.rglob("model.skops"))
    output = scoring_flow(source)
    assert output.parent == settings.scored_dir
    scored = pd.read_parquet(output)
    assert len(scored) == 500
    assert scored["score"].between(*SCORE_RANGE).all()
    assert set(scored["model_version"]) == {version}

    # A large file is scored in chunks, with a bar on a terminal; the scores are the same.
    contract = load_contract(settings.contract_file)
    champion = batch.champion(settings.registered_model_name)
    frame = batch.read_features(source, contract)
    whole = batch.score_frame(frame, champion, contract)
    shown = io.StringIO()
    monkeypatch.setattr(progress, "terminal", lambda stream=None: shown)
    monkeypatch.setattr(batch, "SCORING_CHUNK_ROWS", 64)
    pd.testing.assert_frame_equal(batch.score_frame(frame, champion, contract), whole)
    assert shown.getvalue().split("\r")[-1].startswith("scoring [")
    assert "100% 500/500 rows" in shown.getvalue()


def test_a_batch_without_a_feature_is_refused(settings: Settings, tmp_path: Path) -> None:
    source = tmp_path / "incomplete.parquet"
    generate_batch(rows=50, seed=9).drop(columns=[FLOAT_FEATURE]).to_parquet(source)
    result = CliRunner().invoke(app, ["score", str(source)])
    assert result.exit_code == 2
    assert f"missing feature column(s) {FLOAT_FEATURE}" in result.output
