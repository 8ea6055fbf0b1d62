"""End to end: real ingestion and training flows, a real MLflow registry in a temporary SQLite
store, and the promotion gate deciding between real models."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest
import yaml
from mlflow import MlflowClient
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder
from typer.testing import CliRunner

from {{ cookiecutter.package_name }}.cli import app
from {{ cookiecutter.package_name }}.contract import DataContract
from {{ cookiecutter.package_name }}.data.flow import ingestion_flow
from {{ cookiecutter.package_name }}.modeling import MODELS, PREDICT_METHOD, preprocessor
from {{ cookiecutter.package_name }}.requirements import OfflineMetrics, load_requirements
from {{ cookiecutter.package_name }}.settings import Settings
from {{ cookiecutter.package_name }}.status import collect_status
from {{ cookiecutter.package_name }}.training import registry
from {{ cookiecutter.package_name }}.training.flow import training_flow
from {{ cookiecutter.package_name }}.training.registry import read_registry
from {{ cookiecutter.package_name }}.training.registry_status import registry_status
from worked_example import TRAINING_PLOT, useless_estimator, weak_estimator

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_server")]
ROWS = 20_000


OFFLINE = load_requirements(Settings().requirements_file).offline_metrics
PRIMARY = OFFLINE.primary


def prior_only(contract: DataContract, seed: int) -> Pipeline:
    """A deliberately useless model: the same score for everyone."""
    return Pipeline([("features", preprocessor(contract)), ("model", useless_estimator())])


def categories_only(contract: DataContract, seed: int) -> Pipeline:
    """A model with real but weaker signal: it sees the categorical features only."""
    return Pipeline(
        [
            (
                "features",
                ColumnTransformer(
                    [("categorical", OneHotEncoder(), contract.categorical_features)]
                ),
            ),
            ("model", weak_estimator()),
        ]
    )


@pytest.fixture
def trained(settings: Settings) -> registry.ModelVersion:
    """A project with one ingested batch and a first champion."""
    ingestion_flow(rows=ROWS, seed=1)
    outcome = training_flow()
    assert outcome.decision.promote, outcome.decision.reasons
    return outcome.registered


def use_thresholds(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    folder: Path,
    thresholds: dict[str, dict[str, float]],
) -> None:
    """Point the project at a copy of the requirements file with these thresholds instead."""
    raw = yaml.safe_load(Path(settings.requirements_file).read_text())
    raw["offline_metrics"]["thresholds"] = thresholds
    (folder / "requirements.yaml").write_text(yaml.safe_dump(raw))
    monkeypatch.setenv("MLSD_REQUIREMENTS_FILE", str(folder / "requirements.yaml"))


def bound(offline: OfflineMetrics, value: float) -> dict[str, dict[str, float]]:
    """A threshold on the primary metric at `value`, on the side it is bounded from."""
    side = "min" if offline.higher_is_better else "max"
    return {offline.primary: {side: value}}


def better(new: float, old: float) -> bool:
    return new > old if OFFLINE.higher_is_better else new < old


def aliases(settings: Settings) -> dict[str, str]:
    mlflow.set_tracking_uri(settings.tracking_uri)
    model = MlflowClient().get_registered_model(settings.registered_model_name)
    return {alias: str(version) for alias, version in model.aliases.items()}


def test_first_model_is_tracked_registered_and_promoted(
    settings: Settings, trained: registry.ModelVersion
) -> None:
    assert settings.local_tracking_db.is_file()
    assert aliases(settings) == {"champion": "1", "challenger": "1"}

    client = MlflowClient()
    run = client.get_run(trained.run_id)
    assert run.info.status == "FINISHED"
    assert OFFLINE.failures(run.data.metrics) == []
    assert run.data.params["model_name"] == "gradient_boosting"
    assert run.data.tags["gate"] == "passed"
    artifacts = {item.path for item in client.list_artifacts(trained.run_id, "evaluation")}
    assert {"evaluation/metrics.json", f"evaluation/{TRAINING_PLOT}"} <= artifacts
    assert Path(run.info.artifact_uri.removeprefix("file://")).is_relative_to(
        settings.mlflow_artifacts_dir
    )

    version = client.get_model_version(trained.name, trained.version)
    assert (version.description or "").startswith(f"# Model card: {trained.name} v1")
    assert version.tags["data_version"] == run.data.params["data_version"]

    champion = registry.version_by_alias(trained.name, registry.CHAMPION)
    assert champion == trained
    assert hasattr(registry.load_model(champion), PREDICT_METHOD)

    status = collect_status(settings)["registry"]
    assert status["champion"]["version"] == "1"
    assert status["champion"]["metrics"][PRIMARY] == run.data.metrics[PRIMARY]


def test_status_reads_the_registry_without_the_pipelines_tools(
    settings: Settings, trained: registry.ModelVersion
) -> None:
    """`status` answers from the registry alone: scikit-learn, skops, the model's library,
    Prefect, GX, Evidently and, for a local store, MLflow itself take seconds to import, and
    none of them is needed to say what has run (a fresh interpreter, as the command runs)."""
    package = collect_status.__module__.split(".")[0]
    code = (
        "import json, sys\n"
        f"from {package}.settings import get_settings\n"
        f"from {package}.status import collect_status\n"
        "report = collect_status(get_settings())\n"
        "heavy = ('sklearn', 'skops', 'lightgbm', 'prefect', 'great_expectations', 'evidently',\n"
        "         'mlflow')\n"
        "print(json.dumps({'champion': report['registry']['champion']['version'],\n"
        "                  'imported': [name for name in heavy if name in sys.modules]}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer == {"champion": trained.version, "imported": []}, result.stderr[-2000:]


def test_status_reads_a_local_registry_as_mlflow_does(
    settings: Settings, trained: registry.ModelVersion
) -> None:
    """Reading the SQLite file directly gives what MLflow's client gives, a deleted version
    left out as MLflow leaves it out."""
    assert training_flow().registered.version == "2"
    client = MlflowClient()
    client.delete_model_version(trained.name, "2")
    status = registry_status(settings)
    assert status["versions"] == 1 and status["champion"]["version"] == "1"
    where = {"tracking_uri": settings.tracking_uri, "registered_model": trained.name}
    assert status == where | read_registry(settings)
    assert (
        status["champion"]["metrics"][PRIMARY]
        == client.get_run(trained.run_id).data.metrics[PRIMARY]
    )


def test_a_worse_model_is_registered_but_not_promoted(
    settings: Settings, trained: registry.ModelVersion, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(MODELS, "prior_only", prior_only)
    monkeypatch.setenv("MLSD_MODEL_NAME", "prior_only")
    outcome = training_flow()  # completes: a failed gate is an outcome, not an error
    assert not outcome.decision.promote
    assert any(PRIMARY in reason for reason in outcome.decision.reasons)
    assert aliases(settings) == {"champion": "1", "challenger": "2"}
    assert MlflowClient().get_run(outcome.registered.run_id).data.tags["gate"] == "failed"
    card = Path(outcome.report_dir, "model_card.md").read_text()
    assert "**Decision:** not promoted" in card


def test_a_better_model_replaces_the_champion(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A threshold any model meets, so the weak model can become champion first.
    loose = -1e9 if OFFLINE.higher_is_better else 1e9
    use_thresholds(settings, monkeypatch, tmp_path, bound(OFFLINE, loose))
    monkeypatch.setitem(MODELS, "weak", categories_only)
    ingestion_flow(rows=ROWS, seed=2)

    monkeypatch.setenv("MLSD_MODEL_NAME", "weak")
    weak = training_flow()
    assert weak.decision.promote, weak.decision.reasons

    monkeypatch.setenv("MLSD_MODEL_NAME", "gradient_boosting")
    strong = training_flow()
    assert strong.decision.promote, strong.decision.reasons
    assert better(strong.metrics[PRIMARY], weak.metrics[PRIMARY])
    assert aliases(settings) == {"champion": "2", "challenger": "2"}
    summary = json.loads(Path(strong.report_dir, "metrics.json").read_text())
    # The champion was re-measured on this run's holdout, not taken from its own run.
    assert summary["champion"]["version"]["version"] == "1"
    assert better(strong.metrics[PRIMARY], summary["champion"]["metrics"][PRIMARY])


def test_thresholds_from_the_requirements_file_are_honoured(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A bar no model on this data can clear: a perfect score and then some.
    impossible = 2.0 if OFFLINE.higher_is_better else -1.0
    use_thresholds(settings, monkeypatch, tmp_path, bound(OFFLINE, impossible))
    ingestion_flow(rows=ROWS, seed=3)
    outcome = training_flow()
    assert not outcome.decision.promote
    side = "below the minimum" if OFFLINE.higher_is_better else "above the maximum"
    assert any(f"{side} {impossible}" in reason for reason in outcome.decision.reasons)
    assert aliases(settings) == {"challenger": "1"}  # no champion without passing the gate


def test_a_crash_mid_run_leaves_the_aliases_as_they_were(
    settings: Settings, trained: registry.ModelVersion, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("disk full while attaching the model card")

    monkeypatch.setattr(registry, "describe_version", broken)
    with pytest.raises(OSError, match="disk full"):
        training_flow()
    assert aliases(settings) == {"champion": "1", "challenger": "1"}


def test_train_command_reports_the_outcome_and_missing_data(settings: Settings) -> None:
    runner = CliRunner()
    missing = runner.invoke(app, ["train"])
    assert missing.exit_code == 2
    assert "ingest data first" in missing.output

    ingestion_flow(rows=ROWS, seed=4)
    result = runner.invoke(app, ["train"])
    assert result.exit_code == 0, result.output
    assert "v1" in result.output
    assert "promoted to champion" in result.output
