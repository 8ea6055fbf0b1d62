"""End to end: a retrained model that passes the gate goes on trial (step 1's
`experiment.rollout`), the real scorer splits or shadows the traffic and logs each arm, labels
arrive through the real labels flow, and the real experiment flow decides from them and moves
the real registry's aliases."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from test_failure_modes import api_url, cli  # noqa: F401 (api_url is a fixture)
from typer.testing import CliRunner

from {{ cookiecutter.package_name }}.cli import app
from {{ cookiecutter.package_name }}.contract import DataContract
from {{ cookiecutter.package_name }}.data.flow import ingestion_flow
from {{ cookiecutter.package_name }}.data.synthetic import DEFAULT_START, generate_batch
from {{ cookiecutter.package_name }}.monitoring import online
from {{ cookiecutter.package_name }}.monitoring.experiment_flow import experiment_flow
from {{ cookiecutter.package_name }}.monitoring.labels_flow import labels_flow
from {{ cookiecutter.package_name }}.monitoring.windows import prediction_log_window
from {{ cookiecutter.package_name }}.processes import free_port
from {{ cookiecutter.package_name }}.serving.local import request_records
from {{ cookiecutter.package_name }}.serving.schemas import Prediction, record_model
from {{ cookiecutter.package_name }}.serving.scorer import Scorer
from {{ cookiecutter.package_name }}.settings import ENV_PREFIX, Settings, get_settings
from {{ cookiecutter.package_name }}.training import registry
from {{ cookiecutter.package_name }}.training.flow import training_flow

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_server")]
NEXT_WEEK = DEFAULT_START + timedelta(days=7)


def rollout(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    """Step 1 rolling out by `how`, judged on small arms."""
    raw = yaml.safe_load(settings.requirements_file.read_text(encoding="utf-8"))
    raw["experiment"] = {"rollout": how, "min_labelled_per_arm": 200, "bootstrap_rounds": 200}
    path = tmp_path / "requirements.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    monkeypatch.setenv(f"{ENV_PREFIX}REQUIREMENTS_FILE", str(path))


def on_trial(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> tuple[registry.ModelVersion, registry.ModelVersion]:
    """A champion; then a shifted batch arrives and the retrain on both, which the gate
    promotes (as in `make all`), goes on trial instead of replacing it."""
    monkeypatch.setenv(f"{ENV_PREFIX}SERVICE_URL", f"http://127.0.0.1:{free_port()}")
    ingestion_flow(rows=20_000, seed=1)
    first = training_flow()
    ingestion_flow(rows=20_000, seed=2, drift="covariate", start=NEXT_WEEK)
    rollout(settings, tmp_path, monkeypatch, how)
    second = training_flow()
    assert second.decision.promote, second.summary()
    assert second.decision.trial == how and second.champion == first.registered.version
    registry.connect(settings)
    name = settings.registered_model_name
    assert registry.version_by_alias(name, registry.CHAMPION) == first.registered
    assert registry.version_by_alias(name, registry.TRIAL) == second.registered
    return first.registered, second.registered


def serve(contract: DataContract, rows: int) -> tuple[pd.DataFrame, list[Prediction]]:
    """Records scored as the service scores them, by the scorer's arms."""
    scorer = Scorer.from_settings(get_settings())
    assert scorer.refresh() and scorer.trial is not None
    frame = generate_batch(rows, seed=11)
    record = record_model(contract)
    records = [record.model_validate(r) for r in request_records(frame, contract)]
    return frame, scorer.score(records)


def labels_favouring(
    frame: pd.DataFrame, contract: DataContract, settings: Settings, arm: str, path: Path
) -> Path:
    """Outcomes that the `arm`'s model predicted perfectly and the other's not at all: a known
    effect, whatever the models are. Each record's outcome follows that arm's answer: the class
    it predicted, where it predicts one; else its score (its median splits the classes; a
    ranking's candidates are graded by it)."""
    logged, _, _ = prediction_log_window(settings.prediction_log, 0)
    id_column = contract.id_column or ""
    answered = logged[logged["arm"] == arm]
    scores = pd.Series(answered["score"].to_numpy(), index=answered[id_column].astype(str))
    mine = frame[id_column].astype(str).isin(scores.index)
    rng = np.random.default_rng(0)
    target = contract.target
    values: list[Any] = list(target.labels) or [0.0]
    high, low = values[-1], values[0]
    chosen = scores.reindex(frame[id_column].astype(str)).to_numpy()
    outcome = np.where(chosen > np.nanmedian(chosen), high, low)
    random = rng.choice([low, high], len(frame))
    if target.type == "float":  # a regression: the outcome is the value that arm predicted
        outcome, random = chosen, frame[target.name].to_numpy()
    for column in contract.prediction.class_columns:  # the class that arm predicted
        predicted = pd.Series(answered[column].to_numpy(), index=scores.index)
        outcome = predicted.reindex(frame[id_column].astype(str)).to_numpy()
        random = rng.choice(values, len(frame))
    labels = frame[online.label_columns(contract)].copy()
    labels[target.name] = np.where(mine, outcome, random)
    labels.to_csv(path, index=False)
    return path


def test_an_ab_test_promotes_a_better_challenger(
    settings: Settings, contract: DataContract, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    champion, trial = on_trial(settings, tmp_path, monkeypatch, "ab")
    frame, answers = serve(contract, 2_000)
    arms = {answer.arm for answer in answers}
    assert arms == {"champion", "challenger"}
    by_arm = {a.arm: a.model_version for a in answers}
    assert by_arm == {"champion": champion.version, "challenger": trial.version}
    assert 0.4 < np.mean([a.arm == "challenger" for a in answers]) < 0.6
    logged, _, _ = prediction_log_window(settings.prediction_log, 0)
    assert len(logged) == 2_000 and set(logged["arm"]) == {"champion", "challenger"}

    labels_flow(
        source=labels_favouring(frame, contract, settings, "challenger", tmp_path / "l.csv")
    )
    outcome = experiment_flow()
    assert outcome.analysis.decision == "promote", outcome.headline()
    assert (
        Path(outcome.report).is_file() and "Decision: promote" in Path(outcome.report).read_text()
    )
    name = settings.registered_model_name
    assert registry.version_by_alias(name, registry.CHAMPION) == trial
    assert registry.version_by_alias(name, registry.TRIAL) is None
    scorer = Scorer.from_settings(get_settings())
    scorer.refresh()
    assert scorer.trial is None and scorer.loaded is not None
    assert scorer.loaded.version == trial


def test_a_shadow_trial_is_never_answered_and_a_worse_one_is_rolled_back(
    settings: Settings, contract: DataContract, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    champion, trial = on_trial(settings, tmp_path, monkeypatch, "shadow")
    frame, answers = serve(contract, 1_000)
    assert {(a.arm, a.model_version) for a in answers} == {("champion", champion.version)}
    logged, _, _ = prediction_log_window(settings.prediction_log, 0)
    shadow = logged[logged["arm"] == "shadow"]
    assert len(shadow) == 1_000 and set(shadow["model_version"]) == {trial.version}

    labels_flow(source=labels_favouring(frame, contract, settings, "champion", tmp_path / "l.csv"))
    outcome = experiment_flow()
    assert outcome.analysis.decision == "roll_back", outcome.headline()
    name = settings.registered_model_name
    assert registry.version_by_alias(name, registry.CHAMPION) == champion
    assert registry.version_by_alias(name, registry.TRIAL) is None


def test_experiment_without_a_trial_exits_2(settings: Settings) -> None:
    ingestion_flow(rows=5_000, seed=1)
    training_flow()
    result = CliRunner().invoke(app, ["experiment"])
    assert result.exit_code == 2 and "no version is on trial" in result.output
