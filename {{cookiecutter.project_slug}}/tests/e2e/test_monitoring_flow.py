"""End to end: the monitoring flow on a real registry, real prediction-log windows written by
the real scorer, real Evidently reports and workspace, and retraining through the real gate."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from mlflow import MlflowClient
from typer.testing import CliRunner

from {{ cookiecutter.package_name }}.cli import app
from {{ cookiecutter.package_name }}.contract import load_contract
from {{ cookiecutter.package_name }}.data.batches import read_jsonl
from {{ cookiecutter.package_name }}.data.flow import ingestion_flow
from {{ cookiecutter.package_name }}.data.ingestion import BatchRejectedError
from {{ cookiecutter.package_name }}.data.synthetic import COVARIATE_SHIFTED, DEFAULT_START, generate_batch
from {{ cookiecutter.package_name }}.flows import monitoring_flow
from {{ cookiecutter.package_name }}.modeling.candidates import BASELINE
from {{ cookiecutter.package_name }}.monitoring.workspace import open_project
from {{ cookiecutter.package_name }}.processes import free_port
from {{ cookiecutter.package_name }}.serving.schemas import record_model
from {{ cookiecutter.package_name }}.serving.scorer import Scorer
from {{ cookiecutter.package_name }}.settings import Settings
from {{ cookiecutter.package_name }}.training import registry
from {{ cookiecutter.package_name }}.training.flow import training_flow
from worked_example import FLOAT_FEATURE, INT_FEATURE, UNDRIFTED_SEED, good_quality

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_server")]
NEXT_WEEK = DEFAULT_START + timedelta(days=7)


@pytest.fixture
def champion(settings: Settings) -> registry.ModelVersion:
    ingestion_flow(rows=20_000, seed=1)
    outcome = training_flow()
    assert outcome.decision.promote
    return outcome.registered


def serve_traffic(settings: Settings, rows: int, seed: int, drift: str = "none") -> None:
    """Score records as the service does (same scorer, same log), without the HTTP hop."""
    scorer = Scorer.from_settings(settings)
    assert scorer.refresh()
    record = record_model(scorer.contract)
    frame = generate_batch(rows, seed=seed, drift=drift, start=NEXT_WEEK)  # type: ignore[arg-type]
    wanted = frame[scorer.contract.request_columns()]
    records = [record.model_validate(row) for row in wanted.to_dict("records")]
    scorer.score(records)


def versions(settings: Settings) -> int:
    registry.connect(settings)
    return len(MlflowClient().search_model_versions(f"name='{settings.registered_model_name}'"))


def test_traffic_like_the_training_data_needs_no_action(
    settings: Settings, champion: registry.ModelVersion
) -> None:
    serve_traffic(settings, rows=3_000, seed=5)
    outcome = monitoring_flow()

    assert outcome.action == "none"
    assert outcome.summary.current_rows == 3_000
    assert outcome.summary.drifted_features == []
    assert outcome.summary.prediction_drift is False
    assert outcome.retrained is None
    assert versions(settings) == 1
    report = Path(outcome.report)
    assert report.is_relative_to(settings.monitoring_reports_dir)
    assert "<html" in report.read_text(encoding="utf-8")[:1_000].lower()
    workspace, project = open_project(
        settings.evidently_workspace,
        settings.registered_model_name,
        load_contract(settings.contract_file),
    )
    assert len(workspace.list_runs(project.id)) == 1
    assert len(project.dashboard.model().panels) >= 4

    # The next run starts where this one stopped: nothing new yet, so nothing is judged.
    again = monitoring_flow()
    assert again.action == "too_few_rows"
    assert again.log_offset == outcome.log_offset == settings.prediction_log.stat().st_size
    log = read_jsonl(settings.monitoring_log)
    assert [line["action"] for line in log] == ["none", "too_few_rows"]


def test_drift_above_the_threshold_retrains_and_promotes(
    settings: Settings, champion: registry.ModelVersion, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No service is listening here: the flow must say so and still finish.
    monkeypatch.setenv("MLSD_SERVICE_URL", f"http://127.0.0.1:{free_port()}")
    serve_traffic(settings, rows=3_000, seed=5)
    assert monitoring_flow().action == "none"

    ingestion_flow(rows=20_000, seed=2, drift="covariate", start=NEXT_WEEK)  # labels arrive
    serve_traffic(settings, rows=3_000, seed=6, drift="covariate")
    outcome = monitoring_flow()

    assert outcome.action == "retrain"
    assert outcome.summary.current_rows == 3_000  # only what arrived since the last run
    # Most of what the generator shifts is found in 3,000 rows (and little else).
    drifted = set(outcome.summary.drifted_features)
    assert len(drifted & set(COVARIATE_SHIFTED)) >= 3 and len(drifted - set(COVARIATE_SHIFTED)) <= 1
    assert outcome.retrained is not None and outcome.retrained["version"] == "2"
    assert outcome.retrained["promoted"]
    champion_now = registry.version_by_alias(settings.registered_model_name, registry.CHAMPION)
    assert champion_now is not None and champion_now.version == "2"
    assert outcome.service is not None and outcome.service.startswith("not reached")
    # Each flow left the system report current: the new champion and the retrain are on it.
    page = (settings.reports_dir / "index.html").read_text()
    assert "champion <b>v2</b>" in page and "<td>retrain</td>" in page


def test_retraining_can_be_turned_off(settings: Settings, champion: registry.ModelVersion) -> None:
    serve_traffic(settings, rows=3_000, seed=6, drift="covariate")
    outcome = monitoring_flow(retrain=False)
    assert outcome.action == "retrain"
    assert outcome.retrained is None
    assert versions(settings) == 1


def test_a_labelled_batch_is_judged_with_the_tasks_quality(
    settings: Settings, champion: registry.ModelVersion, tmp_path: Path
) -> None:
    source = tmp_path / "labelled.parquet"
    generate_batch(3_000, seed=UNDRIFTED_SEED, start=NEXT_WEEK).to_parquet(source)
    outcome = monitoring_flow(source=source)
    assert outcome.window == str(source)
    assert outcome.action == "none"
    assert outcome.summary.target_drift is False
    assert good_quality(outcome.summary.metrics), outcome.summary.metrics
    assert outcome.log_offset is None


def test_a_drifted_labelled_batch_is_ingested_before_the_retrain(
    settings: Settings,
    champion: registry.ModelVersion,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The retrain learns from the batch it was triggered by, with the champion's candidate
    (not the settings' default), and a batch that breaks the contract retrains nothing."""
    monkeypatch.setenv("MLSD_SERVICE_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("MLSD_MODEL_NAME", BASELINE)  # not what the champion is
    broken = tmp_path / "broken.parquet"
    shifted = generate_batch(3_000, seed=9, drift="covariate", start=NEXT_WEEK)
    shifted.assign(**{INT_FEATURE: shifted[INT_FEATURE] + 200}).to_parquet(broken)
    with pytest.raises(BatchRejectedError):
        monitoring_flow(source=broken)
    assert versions(settings) == 1
    assert read_jsonl(settings.monitoring_log)[-1]["retrained"]["summary"].startswith(
        "not retrained"
    )

    source = tmp_path / "shifted.parquet"
    shifted.to_parquet(source)
    outcome = monitoring_flow(source=source)
    assert outcome.action == "retrain" and outcome.retrained is not None
    assert outcome.retrained["batch"].startswith("validated as ")
    assert outcome.retrained["model_name"] == "gradient_boosting"
    stored = [path.name for path in settings.validated_dir.glob("*.parquet")]
    assert len(stored) == 2  # the champion's batch and the judged one
    card = next(
        Path(path)
        for path in settings.training_reports_dir.glob("*gradient_boosting/model_card.md")
        if "v2" in path.read_text().splitlines()[0]
    )
    assert "2 validated batch(es)" in card.read_text()


def test_monitor_cli_without_a_champion_exits_2(settings: Settings) -> None:
    result = CliRunner().invoke(app, ["monitor"])
    assert result.exit_code == 2
    assert "train one" in result.output


def test_monitor_cli_names_a_missing_feature_column(
    settings: Settings, champion: registry.ModelVersion, tmp_path: Path
) -> None:
    source = tmp_path / "partial.parquet"
    generate_batch(2_000, seed=8).drop(columns=[FLOAT_FEATURE]).to_parquet(source)
    result = CliRunner().invoke(app, ["monitor", "--source", str(source)])
    assert result.exit_code == 2
    assert f"missing feature column(s) {FLOAT_FEATURE}" in result.output
    assert not settings.monitoring_log.exists()  # nothing judged, nothing recorded
