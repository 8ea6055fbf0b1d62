"""MLflow wiring: where runs are tracked, how a model version is recorded, and the aliases.

The registered model has two aliases: `challenger` (the latest version trained) and `champion`
(the version serving uses). Aliases move only in `move_aliases`, the last step of a training
run, so a run that crashes part-way leaves both where they were.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import socket
import sqlite3
import tempfile
import time
import warnings
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from ..data.batches import exclusive
from ..modeling.candidates import MODEL_PACKAGES, PREDICT_METHOD
from ..seeds import keep_seed, plant_seed, seed_path
from ..settings import Settings
from . import integrity
from .integrity import ArtifactMismatchError as ArtifactMismatchError
from .integrity import ModelLoadError as ModelLoadError
from .registry_view import alias_entry

if TYPE_CHECKING:
    import pandas as pd
    from sklearn.pipeline import Pipeline

    from ..modeling.compiled import CompiledModel

CHAMPION = "champion"
CHALLENGER = "challenger"
# The version on trial: it passed the gate, and step 1 rolls out by an A/B test or in shadow,
# so it serves beside the champion until the `experiment` command decides.
TRIAL = "trial"
MODEL_ARTIFACT = "model"
COMPILED_ARTIFACT = "compiled"
# A version's tags: whether it has a compiled scoring path, and what it is (or why it has none).
SCORING_PATH_TAG, SCORING_NOTE_TAG = "scoring_path", "scoring_path_note"
# The promotion gate's verdict on the version (training/steps.py); the service serves only
# versions that passed it.
GATE_TAG, GATE_PASSED, GATE_FAILED = "gate", "passed", "failed"
OWNER_HOST, OWNER_PID = "mlsd.host", "mlsd.pid"
# What loading the model needs, pinned to what trained it. Passing the list also spares
# MLflow from inferring it in a subprocess (4-5 s per logged model).
MODEL_REQUIREMENTS = ("scikit-learn", "skops", "numpy", "pandas", "scipy", *MODEL_PACKAGES)


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: str
    run_id: str
    # Whether the version has a compiled scoring path, and the note its training left.
    compiled: bool = field(default=False, compare=False)
    compiled_note: str | None = field(default=None, compare=False)
    # Its tags as the registry holds them: the gate's verdict, the artifact digests, ...
    tags: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def label(self) -> str:
        """How messages name it: `<name> v<version>`."""
        return f"{self.name} v{self.version}"

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"


def connect(settings: Settings) -> None:
    """Point MLflow's client at the configured tracking store and registry."""
    mlflow.set_tracking_uri(settings.tracking_uri)
    if settings.tracks_locally and settings.tracking_uri not in _OPENED:
        # The first process to open a new SQLite store creates its tables; a second one
        # opening it meanwhile migrates it again and crashes ("duplicate column name"), as the
        # service starting beside a first training did. Processes open the store in turn.
        try:
            with exclusive(settings.project_dir / ".mlflow.db.lock"):
                _open_seeded_store(settings)
        except OSError:  # a read-only project: nothing will be created in it either
            _open_store()
        _OPENED.add(settings.tracking_uri)


_OPENED: set[str] = set()  # local stores this process has opened (and so created)


def _open_store() -> None:
    client = MlflowClient()
    client.search_experiments(max_results=1)
    client.search_registered_models(max_results=1)


def _open_seeded_store(settings: Settings) -> None:
    """Open the local store; a new one starts from the environment's seed, or becomes it."""
    database, seed = settings.local_tracking_db, seed_path("mlflow")
    new = not database.exists()
    planted = new and plant_seed(database, seed)
    _open_store()
    if not new:
        return
    if not planted:
        keep_seed(database, seed)
    # MLflow's Default experiment keeps its artifacts under the working directory (or, in a
    # seed, where the seed was made): here, in this project's artifact folder.
    now_ms = int(time.time() * 1000)
    with closing(sqlite3.connect(database)) as db, db:
        db.execute(
            "UPDATE experiments SET artifact_location = ?, creation_time = ?, "
            "last_update_time = ? WHERE experiment_id = 0",
            ((settings.mlflow_artifacts_dir / "0").as_uri(), now_ms, now_ms),
        )


def configure_tracking(settings: Settings) -> str:
    """Point MLflow at the configured store; return the experiment id, creating it if needed.
    Locally, artifacts go to a folder in the project rather than under the working directory."""
    connect(settings)
    # uv environments have no pip; MLflow warns about it on every logged model, needlessly,
    # because the model's requirements are passed explicitly.
    logging.getLogger("mlflow.utils.environment").setLevel(logging.ERROR)
    # log_model tries the input example by loading the model back with MLflow's own loader,
    # which this project refuses (integrity.py), and warns that it could not: the holdout and
    # the compiled path's parity check score the model instead.
    logging.getLogger("mlflow.models.model").setLevel(logging.ERROR)
    experiment = mlflow.get_experiment_by_name(settings.experiment_name)
    if experiment is not None:
        experiment_id: str = experiment.experiment_id
    else:
        artifact_location = (
            settings.mlflow_artifacts_dir.as_uri() if settings.tracks_locally else None
        )
        experiment_id = mlflow.create_experiment(
            settings.experiment_name, artifact_location=artifact_location
        )
    mlflow.set_experiment(experiment_id=experiment_id)
    fail_abandoned_runs(experiment_id)
    return experiment_id


def process_tags() -> dict[str, str]:
    """Which process owns a run: how a later run tells an abandoned run from a live one."""
    return {OWNER_HOST: socket.gethostname(), OWNER_PID: str(os.getpid())}


def fail_abandoned_runs(experiment_id: str) -> list[str]:
    """Mark FAILED every run still RUNNING whose process (on this host) is gone: a training
    killed mid-run (`kill -9`, a power cut) cannot end its own run."""
    client = MlflowClient()
    host = socket.gethostname()
    abandoned = []
    for run in client.search_runs([experiment_id], filter_string="attributes.status = 'RUNNING'"):
        tags = run.data.tags
        if tags.get(OWNER_HOST) != host or not tags.get(OWNER_PID, "").isdigit():
            continue  # another machine's run, or not one of ours: not ours to judge
        try:
            os.kill(int(tags[OWNER_PID]), 0)
        except ProcessLookupError:
            client.set_terminated(run.info.run_id, status="FAILED")
            abandoned.append(run.info.run_id)
        except PermissionError:
            pass  # the process exists (another user's)
    for run_id in abandoned:
        logging.getLogger(__name__).warning(
            "run %s was left RUNNING by a process that died; marked FAILED", run_id
        )
    return abandoned


def read_registry(settings: Settings) -> dict[str, Any]:
    """The registered model's version count and aliases, by MLflow's client (any store); see
    `registry_status.registry_status`, which reads a local store without MLflow."""
    connect(settings)
    client = MlflowClient()
    try:
        model = client.get_registered_model(settings.registered_model_name)
    except MlflowException:
        return {}
    found: dict[str, Any] = {
        "versions": len(client.search_model_versions(f"name = '{settings.registered_model_name}'"))
    }
    for alias, version in sorted(model.aliases.items()):
        details = client.get_model_version(model.name, version)
        run = client.get_run(str(details.run_id))
        found[alias] = alias_entry(version, details.run_id, details.tags, run.data.metrics)
    return found


# What the registry answers for a model or an alias that does not exist (yet).
NOT_FOUND_CODES = frozenset({"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"})


def version_by_alias(name: str, alias: str) -> ModelVersion | None:
    """The version `alias` points at; None if the model or the alias does not exist. A registry
    that cannot be reached raises: an outage is not "nothing has been promoted"."""
    try:
        found = MlflowClient().get_model_version_by_alias(name, alias)
    except MlflowException as error:
        if error.error_code in NOT_FOUND_CODES:
            return None
        raise
    tags = found.tags or {}
    return ModelVersion(
        name=name,
        version=str(found.version),
        run_id=str(found.run_id),
        compiled=tags.get(SCORING_PATH_TAG) == "compiled",
        compiled_note=tags.get(SCORING_NOTE_TAG),
        tags=dict(tags),
    )


def candidate_of(version: ModelVersion) -> str | None:
    """Which step-4 candidate a version is (its run's `model_name` parameter)."""
    name = MlflowClient().get_run(version.run_id).data.params.get("model_name")
    return str(name) if name else None


def download(version: ModelVersion, folder: Path, artifact: str) -> Path:
    """The version's `artifact` ("model": its logged model; else a folder of its run), in
    `folder`, checked against the digests recorded when it was registered."""
    import mlflow.artifacts

    # A progress bar per download is noise in a service's log.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    label = version.label
    expected = integrity.recorded(version.tags.get(integrity.DIGEST_TAG), label)
    if artifact == MODEL_ARTIFACT:
        local = mlflow.artifacts.download_artifacts(artifact_uri=version.uri, dst_path=str(folder))
    else:
        local = mlflow.artifacts.download_artifacts(
            run_id=version.run_id, artifact_path=artifact, dst_path=str(folder)
        )
    integrity.verify(Path(local), artifact, expected, label)
    return Path(local)


def load_model(version: ModelVersion) -> Pipeline:
    """The registered scikit-learn pipeline, with all its methods (MLflow's pyfunc flavour keeps
    one), read with skops after its files are checked (`integrity`). Any failure names the
    version and where its files are."""
    import skops.io
    import yaml

    label = version.label
    try:
        with tempfile.TemporaryDirectory(prefix="model-") as folder:
            local = download(version, Path(folder), MODEL_ARTIFACT)
            flavour = yaml.safe_load((local / "MLmodel").read_text())["flavors"]["sklearn"]
            if flavour.get("serialization_format") != integrity.SKOPS_FORMAT:
                raise ModelLoadError(
                    f"model {label} is saved as {flavour.get('serialization_format')!r}: only "
                    "skops is loaded (pickle runs whatever code the file holds)",
                    brief=f"model {label} is not saved with skops: it is not served",
                )
            path = local / str(flavour["pickled_model"])
            if path.parent != local:
                raise ModelLoadError(f"model {label} names a file outside its folder")
            found: list[str] = skops.io.get_untrusted_types(file=path)
            if refused := integrity.untrusted(found):
                raise ModelLoadError(
                    f"model {label} holds types this project does not trust: {refused}. Review "
                    "them and add them to `TRUSTED_TYPES` in modeling/candidates.py",
                    brief=f"model {label} holds types this project does not trust",
                )
            model: Pipeline = skops.io.load(path, trusted=found)
    except ModelLoadError:
        raise
    except Exception as error:  # missing file, truncated zip, unreachable store, ...
        try:
            where = MlflowClient().get_model_version_download_uri(version.name, version.version)
        except Exception:  # the registry itself is unreadable: the version's URI must do
            where = version.uri
        raise ModelLoadError(
            f"model {label} cannot be loaded from {where}: {type(error).__name__}: {error}",
            brief=f"model {label} cannot be loaded ({type(error).__name__}; the service's log "
            "says where)",
        ) from error
    return model


def load_compiled(version: ModelVersion) -> CompiledModel:
    """The version's compiled scoring path (logged beside its model), checked against its
    recorded digests; ModelLoadError if it cannot be loaded, ArtifactMismatchError if its
    files are not the registered ones."""
    from ..modeling.compiled import CompiledModel

    label = version.label
    try:
        with tempfile.TemporaryDirectory(prefix="compiled-") as folder:
            return CompiledModel.load(download(version, Path(folder), COMPILED_ARTIFACT))
    except ModelLoadError:
        raise
    except Exception as error:  # missing or corrupt files, an unreachable store, ...
        raise ModelLoadError(
            f"the compiled scoring path of {label} cannot be loaded from run {version.run_id}: "
            f"{type(error).__name__}: {error}",
            brief=f"the compiled scoring path of {label} cannot be loaded",
        ) from error


def trusted_types(model: Pipeline) -> list[str]:
    """skops refuses to load types it does not know: the ones this pipeline needs, if the
    project trusts them all (`integrity.trusted_type`); anything else in a pipeline must be
    reviewed and listed in `TRUSTED_TYPES` first. Loading applies the same rule."""
    import skops.io

    found: list[str] = skops.io.get_untrusted_types(data=skops.io.dumps(model))
    if foreign := integrity.untrusted(found):
        raise TypeError(
            f"the model holds types skops does not trust: {foreign}. Review them and add them "
            "to `TRUSTED_TYPES` in modeling/candidates.py before logging."
        )
    return found


def pinned_requirements() -> list[str]:
    return [f"{package}=={importlib.metadata.version(package)}" for package in MODEL_REQUIREMENTS]


def log_training_run(
    *,
    settings: Settings,
    run_name: str,
    model: Pipeline,
    example: pd.DataFrame,
    params: dict[str, Any],
    metrics: dict[str, float],
    tags: dict[str, str],
    artifacts_dir: Path,
    compiled: CompiledModel | None = None,
) -> ModelVersion:
    """One MLflow run: parameters, metrics, evaluation artifacts, the model and its compiled
    scoring path if it has one, registered as a new version of
    `settings.registered_model_name`."""
    import mlflow.artifacts
    import mlflow.sklearn
    from mlflow.models import infer_signature

    with warnings.catch_warnings():
        # The hint that integer columns cannot hold missing values: the contract forbids them.
        warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer")
        signature = infer_signature(example, getattr(model, PREDICT_METHOD)(example))
    with mlflow.start_run(run_name=run_name, tags=process_tags()) as run:
        mlflow.log_params(params)
        mlflow.log_metrics(metrics)
        mlflow.set_tags(tags)
        mlflow.log_artifacts(str(artifacts_dir), artifact_path="evaluation")
        digests: dict[str, str] = {}
        if compiled is not None:
            with tempfile.TemporaryDirectory(prefix="compiled-") as folder:
                compiled.save(Path(folder))
                digests |= integrity.folder_digests(Path(folder), COMPILED_ARTIFACT)
                mlflow.log_artifacts(folder, artifact_path=COMPILED_ARTIFACT)
        info = mlflow.sklearn.log_model(
            model,
            name=MODEL_ARTIFACT,
            serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_SKOPS,
            skops_trusted_types=trusted_types(model),
            signature=signature,
            input_example=example,
            pip_requirements=pinned_requirements(),
            pyfunc_predict_fn=PREDICT_METHOD,
            registered_model_name=settings.registered_model_name,
        )
        # The model's files as the store holds them now: what every later load must find.
        with tempfile.TemporaryDirectory(prefix="model-") as folder:
            local = mlflow.artifacts.download_artifacts(
                artifact_uri=info.model_uri, dst_path=folder
            )
            digests |= integrity.folder_digests(Path(local), MODEL_ARTIFACT)
    version = ModelVersion(
        name=settings.registered_model_name,
        version=str(info.registered_model_version),
        run_id=run.info.run_id,
        compiled=compiled is not None,
        compiled_note=tags.get(SCORING_NOTE_TAG),
        tags={integrity.DIGEST_TAG: integrity.encode(digests)},
    )
    MlflowClient().set_model_version_tag(
        version.name, version.version, integrity.DIGEST_TAG, version.tags[integrity.DIGEST_TAG]
    )
    return version


def describe_version(version: ModelVersion, card: str, tags: dict[str, str]) -> None:
    """Attach the model card to the version (its description, shown in the MLflow UI) and to
    the run as a file."""
    client = MlflowClient()
    client.log_text(version.run_id, card, "model_card.md")
    client.update_model_version(version.name, version.version, description=card)
    for key, value in tags.items():
        client.set_model_version_tag(version.name, version.version, key, value)


def move_aliases(version: ModelVersion, promote: bool, trial: bool = False) -> None:
    """The latest trained version is the challenger; a promoted one becomes the champion, or,
    with `trial`, the version on trial (the champion stays until the trial is decided)."""
    client = MlflowClient()
    client.set_registered_model_alias(version.name, CHALLENGER, version.version)
    if promote:
        client.set_registered_model_alias(
            version.name, TRIAL if trial else CHAMPION, version.version
        )


def end_trial(version: ModelVersion, promote: bool, verdict: str) -> None:
    """Close the trial of `version`: it becomes the champion, or leaves the traffic; the
    verdict is kept as the version's `experiment` tag."""
    client = MlflowClient()
    client.set_model_version_tag(version.name, version.version, "experiment", verdict)
    if promote:
        client.set_registered_model_alias(version.name, CHAMPION, version.version)
    client.delete_registered_model_alias(version.name, TRIAL)
