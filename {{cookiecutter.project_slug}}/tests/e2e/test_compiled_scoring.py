"""The compiled scoring path for real: produced and checked at registration, logged with the
version, used by the scorer and batch scoring; a version without one, with a broken one, or
with one that disagrees with its pipeline is scored by (or judged on) the pipeline instead."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from mlflow import MlflowClient
from sklearn.pipeline import Pipeline

from {{ cookiecutter.package_name }}.contract import DataContract
from {{ cookiecutter.package_name }}.data.flow import ingestion_flow
from {{ cookiecutter.package_name }}.data.synthetic import generate_batch
from {{ cookiecutter.package_name }}.modeling import predict_scores
from {{ cookiecutter.package_name }}.modeling.compiled import (
    PARITY_TOLERANCE,
    CompiledModel,
    NotCompilableError,
    compile_pipeline,
)
from {{ cookiecutter.package_name }}.modeling.scoring import PipelineModel
from {{ cookiecutter.package_name }}.serving import batch
from {{ cookiecutter.package_name }}.serving.local import request_records
from {{ cookiecutter.package_name }}.serving.scorer import Scorer
from {{ cookiecutter.package_name }}.settings import Settings
from {{ cookiecutter.package_name }}.training import registry, steps
from {{ cookiecutter.package_name }}.training.flow import training_flow

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_server")]
NO_COMPILED_PATH = "has no compiled scoring path"


@pytest.fixture
def trained(settings: Settings) -> registry.ModelVersion:
    ingestion_flow(rows=5_000, seed=1)
    outcome = training_flow()
    assert outcome.decision.promote, outcome.decision.reasons
    return outcome.registered


def champion(settings: Settings) -> registry.ModelVersion:
    found = registry.version_by_alias(settings.registered_model_name, registry.CHAMPION)
    assert found is not None
    return found


def retrain_as_champion(settings: Settings) -> registry.ModelVersion:
    """Train another version and make it champion, whatever the gate says of it."""
    version = training_flow().registered
    MlflowClient().set_model_version_tag(version.name, version.version, "gate", "passed")
    registry.move_aliases(version, promote=True)
    return champion(settings)


def test_the_champion_carries_a_compiled_path_that_scores_as_its_pipeline(
    settings: Settings, trained: registry.ModelVersion, contract: DataContract
) -> None:
    version = champion(settings)
    assert version.compiled
    client = MlflowClient()
    run = client.get_run(version.run_id)
    assert 0 <= run.data.metrics["compiled_max_abs_diff"] <= PARITY_TOLERANCE
    card = client.get_model_version(version.name, version.version).description or ""
    assert "Scoring path: compiled (" in card

    scorer = Scorer.from_settings(settings)
    assert scorer.refresh()
    assert scorer.loaded is not None
    assert isinstance(scorer.loaded.model, CompiledModel)
    frame = generate_batch(rows=500, seed=9)
    expected = predict_scores(registry.load_model(version), frame, contract).to_numpy()
    served = scorer.score_rows(request_records(frame, contract))
    assert set(served.versions) == {version.version}
    assert np.max(np.abs(served.scores - expected)) <= PARITY_TOLERANCE
    scored = batch.score_frame(frame, version, contract)
    assert np.max(np.abs(contract.prediction.raw(scored) - expected)) <= PARITY_TOLERANCE


def test_a_compiled_path_that_disagrees_blocks_promotion(
    settings: Settings, trained: registry.ModelVersion, monkeypatch: pytest.MonkeyPatch
) -> None:
    def skewed(pipeline: Pipeline) -> CompiledModel:
        """A real compiled path, its first numeric column's mean shifted: it scores otherwise."""
        compiled = compile_pipeline(pipeline)
        first = compiled.spec.numeric[0]
        shifted = replace(first, mean=[value + 1.0 for value in first.mean or [0.0]])
        spec = replace(compiled.spec, numeric=[shifted, *compiled.spec.numeric[1:]])
        return CompiledModel(spec, compiled.trees)

    monkeypatch.setattr(steps, "compile_pipeline", skewed)
    outcome = training_flow()
    assert not outcome.decision.promote
    assert any("compiled scoring path disagrees" in reason for reason in outcome.decision.reasons)
    assert champion(settings) == trained
    client = MlflowClient()
    version = client.get_model_version(outcome.registered.name, outcome.registered.version)
    assert version.tags[registry.SCORING_PATH_TAG] == "pipeline"
    assert "disagrees" in version.tags[registry.SCORING_NOTE_TAG]
    # Not logged: if someone promotes it by hand, its pipeline serves it.
    assert client.list_artifacts(outcome.registered.run_id, registry.COMPILED_ARTIFACT) == []


def test_a_version_without_a_working_compiled_path_is_scored_by_its_pipeline(
    settings: Settings,
    trained: registry.ModelVersion,
    contract: DataContract,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Compiled files changed since registration (truncated mid-write): the version is not
    served by any path, its pipeline included. Then a version that has no compiled path: it is
    scored by its pipeline, and the scorer says so once, when it loads the version."""
    frame = generate_batch(rows=200, seed=11)
    rows = request_records(frame, contract)
    for path in Path(settings.mlflow_artifacts_dir).rglob("compiled/*"):
        path.write_bytes(path.read_bytes()[:40])
    scorer = Scorer.from_settings(settings)
    with pytest.raises(registry.ArtifactMismatchError, match=r"compiled/compiled\.json changed"):
        scorer.refresh()
    # Nothing is loaded, and why is said (the pipeline did not stand in).
    assert f"{trained.name} v{trained.version}'s files are not the ones" in (
        scorer.unavailable() or ""
    )

    def refuse(pipeline: Pipeline) -> CompiledModel:
        raise NotCompilableError("no compiled form for this test's model")

    monkeypatch.setattr(steps, "compile_pipeline", refuse)
    version = retrain_as_champion(settings)
    assert not version.compiled
    assert "no compiled form for this test's model" in (version.compiled_note or "")

    caplog.clear()
    with caplog.at_level(logging.INFO):
        scorer.refresh()
        for start in range(0, 200, 50):
            scorer.score_rows(rows[start : start + 50])
        scorer.refresh()  # the same champion: nothing is loaded, nothing said again
    assert scorer.loaded is not None
    assert isinstance(scorer.loaded.model, PipelineModel)
    said = [record for record in caplog.records if NO_COMPILED_PATH in record.getMessage()]
    assert len(said) == 1 and "no compiled form for this test's model" in said[0].getMessage()
    expected = predict_scores(registry.load_model(version), frame, contract).to_numpy()
    np.testing.assert_allclose(scorer.score_rows(rows).scores, expected, rtol=0, atol=1e-12)
    scored = batch.score_frame(frame, version, contract)
    np.testing.assert_allclose(contract.prediction.raw(scored), expected, rtol=0, atol=1e-12)
