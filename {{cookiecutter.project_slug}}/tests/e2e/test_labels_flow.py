"""End to end: labels that arrive after the predictions, through the real labels flow: joined to
the prediction log the real scorer wrote, online metrics measured and put on the real Evidently
dashboard, and step 1's online thresholds acting (an alert; a retrain through the real gate)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from {{ cookiecutter.package_name }}.cli import app
from {{ cookiecutter.package_name }}.contract import DataContract
from {{ cookiecutter.package_name }}.data.batches import read_jsonl
from {{ cookiecutter.package_name }}.data.flow import ingestion_flow
from {{ cookiecutter.package_name }}.data.synthetic import DEFAULT_START, generate_batch
from {{ cookiecutter.package_name }}.monitoring import online, workspace
from {{ cookiecutter.package_name }}.monitoring.labels_flow import labels_flow
from {{ cookiecutter.package_name }}.monitoring.windows import prediction_log_window
from {{ cookiecutter.package_name }}.requirements import load_requirements
from {{ cookiecutter.package_name }}.serving.schemas import record_model
from {{ cookiecutter.package_name }}.serving.scorer import Scorer
from {{ cookiecutter.package_name }}.settings import ENV_PREFIX, Settings
from {{ cookiecutter.package_name }}.training import registry
from {{ cookiecutter.package_name }}.training.evaluation import holdout_metrics
from {{ cookiecutter.package_name }}.training.flow import training_flow

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_server")]
NEXT_WEEK = DEFAULT_START + timedelta(days=7)


@pytest.fixture
def champion(settings: Settings) -> registry.ModelVersion:
    ingestion_flow(rows=5_000, seed=1)
    outcome = training_flow()
    assert outcome.decision.promote
    return outcome.registered


def served(settings: Settings, rows: int, seed: int) -> pd.DataFrame:
    """Records scored as the service scores them (same scorer, same log); the batch, with the
    labels the service never saw."""
    scorer = Scorer.from_settings(settings)
    assert scorer.refresh()
    record = record_model(scorer.contract)
    frame = generate_batch(rows, seed=seed, start=NEXT_WEEK)
    wanted = frame[scorer.contract.request_columns()]
    scorer.score([record.model_validate(row) for row in wanted.to_dict("records")])
    return frame


def labels_file(frame: pd.DataFrame, contract: DataContract, path: Path) -> Path:
    frame[online.label_columns(contract)].to_csv(path, index=False)
    return path


def test_labels_join_the_served_predictions_and_measure_the_champion(
    settings: Settings, contract: DataContract, champion: registry.ModelVersion, tmp_path: Path
) -> None:
    frame = served(settings, 2_000, seed=3)
    source = labels_file(frame, contract, tmp_path / "labels.csv")
    outcome = labels_flow(source=source)
    assert outcome.counts == online.JoinCounts(2_000, 2_000, 2_000, 0, 0, 0)
    assert outcome.judged is not None and outcome.judged.model_version == champion.version
    assert outcome.action in ("none", "alert")  # the thresholds' verdict, whichever it is

    # The same metric functions as the gate, on the logged scores and the arrived labels.
    logged, _, _ = prediction_log_window(settings.prediction_log, 0)
    truth = frame.set_index(frame[contract.id_column or ""].astype(str))[contract.target.name]
    labels = contract.encode_target(truth.loc[logged[contract.id_column or ""].astype(str)])
    group = contract.group_column
    offline = load_requirements(settings.requirements_file).offline_metrics
    expected = holdout_metrics(
        labels.to_numpy(),
        contract.prediction.raw(logged),
        offline,
        logged[group].to_numpy() if group else None,
    )
    assert outcome.judged.metrics[offline.primary] == pytest.approx(expected[offline.primary])

    table = online.read_online_metrics(settings.online_metrics_file)
    assert [row["labelled"] for row in table.values()] == [2_000]
    snapshot_id = next(iter(table.values()))["snapshot_id"]
    space, project = workspace.open_project(
        settings.evidently_workspace, settings.registered_model_name, contract
    )
    assert snapshot_id in {str(run) for run in space.list_runs(project.id)}
    dashboard = project.dashboard.model()
    assert {tab.title for tab in dashboard.tabs} == {workspace.DRIFT_TAB, workspace.ONLINE_TAB}
    panels = len(dashboard.panels)
    assert read_jsonl(settings.labels_log)[-1]["counts"]["predictions"] == 2_000

    # The same file again is one arrival: nothing is counted twice, the snapshot is kept.
    again = labels_flow(source=source)
    assert again.stored == outcome.stored
    assert [w.labelled for w in again.windows] == [2_000]
    assert online.read_online_metrics(settings.online_metrics_file) == table
    # The online tab is rebuilt, not added to: the dashboard shows every panel once.
    assert len(project.dashboard.model().panels) == panels


def test_late_and_unknown_labels_are_counted_not_joined(
    settings: Settings, contract: DataContract, champion: registry.ModelVersion, tmp_path: Path
) -> None:
    frame = served(settings, 600, seed=4)
    id_column, target = contract.id_column or "", contract.target.name
    late = frame[[id_column, target]].head(400).assign(labelled_at="2099-01-01T00:00:00Z")
    unknown = generate_batch(100, seed=99, start=NEXT_WEEK)[[id_column, target]]
    unknown[id_column] = "never-served-" + unknown[id_column].astype(str)
    source = tmp_path / "labels.parquet"
    now = pd.Timestamp.now(tz="UTC").isoformat()
    pd.concat([late, unknown.assign(labelled_at=now)]).to_parquet(source)
    outcome = labels_flow(source=source)
    assert (outcome.counts.late, outcome.counts.unmatched, outcome.counts.joined) == (400, 100, 0)
    assert outcome.action == "too_few_labels" and outcome.windows == []


def strict_requirements(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Step 1 with an online threshold no model meets, judged on small windows, that retrains."""
    raw = yaml.safe_load(settings.requirements_file.read_text(encoding="utf-8"))
    primary = raw["offline_metrics"]["primary"]
    higher = raw["offline_metrics"].get("higher_is_better", True)
    raw["online_metrics"] |= {
        "min_labelled_rows": 100,
        "thresholds": {primary: {"min": 1e9} if higher else {"max": -1e9}},
        "on_breach": "retrain",
    }
    path = tmp_path / "requirements.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    monkeypatch.setenv(f"{ENV_PREFIX}REQUIREMENTS_FILE", str(path))


def test_a_breach_retrains_on_the_labelled_traffic(
    settings: Settings,
    contract: DataContract,
    champion: registry.ModelVersion,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    frame = served(settings, 1_500, seed=5)
    strict_requirements(settings, tmp_path, monkeypatch)
    outcome = labels_flow(source=labels_file(frame, contract, tmp_path / "labels.csv"))
    assert outcome.action == "retrain" and outcome.failures
    assert outcome.retrained is not None
    assert outcome.retrained["batch"].startswith("validated as ")
    labelled = list(settings.labelled_dir.glob("*.parquet"))
    assert len(labelled) == 1 and len(pd.read_parquet(labelled[0])) == 1_500
    assert len(list(settings.validated_dir.glob("*.parquet"))) == 2  # the first and the served
    assert outcome.retrained["version"] != champion.version


def test_labels_cli_exit_codes(
    settings: Settings, contract: DataContract, champion: registry.ModelVersion, tmp_path: Path
) -> None:
    frame = served(settings, 200, seed=6)
    id_column, target = contract.id_column or "", contract.target.name
    bad = frame[[id_column, target]].astype({target: "object"})
    bad.loc[bad.index[2], target] = "not-a-label"
    source = tmp_path / "bad.csv"
    bad.to_csv(source, index=False)
    rejected = CliRunner().invoke(app, ["labels", str(source)])
    assert rejected.exit_code == 1, rejected.output
    assert "row 3" in rejected.output
    assert not list(settings.labels_dir.glob("*.parquet"))  # nothing of the file is kept

    frame[[target]].to_csv(source, index=False)
    missing = CliRunner().invoke(app, ["labels", str(source)])
    assert missing.exit_code == 2 and repr(id_column) in missing.output

    good = CliRunner().invoke(app, ["labels", str(labels_file(frame, contract, source))])
    assert good.exit_code == 0, good.output
    assert "200 labels: 200 joined 200 predictions" in good.output


def test_a_corrupt_metrics_table_is_rebuilt_and_a_corrupt_labels_store_is_named(
    settings: Settings, contract: DataContract, champion: registry.ModelVersion, tmp_path: Path
) -> None:
    frame = served(settings, 600, seed=7)
    source = labels_file(frame, contract, tmp_path / "labels.csv")
    labels_flow(source=source)
    settings.online_metrics_file.write_text("{half a table", encoding="utf-8")
    rebuilt = labels_flow(source=source)  # derived: measured again from the stored labels
    assert [w.labelled for w in rebuilt.windows] == [600]
    assert online.read_online_metrics(settings.online_metrics_file)

    stored = Path(rebuilt.stored)
    stored.write_bytes(stored.read_bytes()[:100])  # truncated
    result = CliRunner().invoke(app, ["labels", str(source)])
    assert result.exit_code == 2, result.output
    assert stored.name in result.output
