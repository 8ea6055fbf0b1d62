"""One settings object for every path, URI and run parameter of the project.

Precedence, highest first: environment variables prefixed ``MLSD_``, the project's ``.env`` file
(yours, not committed), its ``project.env`` (committed: what the project was generated with, e.g.
the feature store), the defaults below. Relative paths resolve against the project directory, so
by default everything the tools write (data, reports, Prefect's database, the GX project) stays
inside it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .errors import ExpectedError

PACKAGE_DIR = Path(__file__).resolve().parent
ENV_PREFIX = "MLSD_"
PROJECT_ENV_FILE = "project.env"

DriftKind = Literal["none", "covariate", "concept"]
ScoringPath = Literal["compiled", "pipeline"]
FeatureStoreKind = Literal["none", "feast"]


def find_project_dir() -> Path:
    """``MLSD_PROJECT_DIR`` if set; else the source checkout (editable install); else the cwd."""
    explicit = os.environ.get(f"{ENV_PREFIX}PROJECT_DIR")
    if explicit:
        return Path(explicit).expanduser().resolve()
    checkout = PACKAGE_DIR.parents[1]  # <project>/src/<package>
    if (checkout / "pyproject.toml").is_file():
        return checkout
    return Path.cwd().resolve()


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    project_dir: Path = Field(default_factory=find_project_dir)

    # Where things live (relative to project_dir unless absolute).
    data_dir: Path = Path("data")
    reports_dir: Path = Path("reports")
    gx_dir: Path = Path("gx")
    prefect_home: Path = Path(".prefect")

    # Step 1 and step 2 documents; swap these to adapt the system to your own data (`contract
    # infer` writes both). A relative path is taken from the project directory.
    requirements_file: Path = PACKAGE_DIR / "requirements" / "requirements.yaml"
    contract_file: Path = PACKAGE_DIR / "contract" / "contract.yaml"

    # Ingestion: read `source_path` (CSV or Parquet) if set, else generate a synthetic batch.
    source_path: Path | None = None
    batch_rows: int = Field(default=50_000, gt=0)
    seed: int = 42
    drift: DriftKind = "none"

    # Step 3: with "feast", the contract's entity features (`entity:` in the contract) live in
    # a Feast feature store under `feature_repo_dir` (data/feature_store.py): training joins
    # them as of each row's time, serving looks them up by key. Its online store is a SQLite
    # file there, or the Redis server `feature_online_store` names (host:port).
    feature_store: FeatureStoreKind = "none"
    feature_online_store: str | None = None

    # Step 4: which candidate in `modeling.MODELS` training fits (None: the task's
    # `DEFAULT_MODEL`). A retrain that monitoring triggers fits the champion's candidate,
    # unless `retrain_model_name` names another.
    model_name: str | None = None
    retrain_model_name: str | None = None
    # Above 0: training first tries this many parameter sets from the candidate's
    # `SEARCH_SPACES` (on the Dask cluster when `dask_address` is set) and fits the best.
    search_trials: int = Field(default=0, ge=0)

    # Step 5: the latest `holdout_fraction` of rows (by event time) judges every model.
    holdout_fraction: float = Field(default=0.2, gt=0, lt=1)
    # MLflow: unset means a SQLite store and an artifact folder inside the project; a server URL
    # tracks and registers there instead. (Not MLflow's own MLFLOW_TRACKING_URI: MLflow sets
    # that variable itself whenever a tracking URI is chosen, so it cannot be an input.)
    mlflow_tracking_uri: str | None = None
    mlflow_artifacts_dir: Path = Path("mlartifacts")
    experiment_name: str = PACKAGE_DIR.name
    registered_model_name: str = PACKAGE_DIR.name

    # Step 6: the prediction service binds 127.0.0.1 unless told otherwise (a container sets
    # 0.0.0.0), and re-checks the registry's champion alias this often.
    serve_host: str = "127.0.0.1"
    serve_port: int = Field(default=3000, gt=0, lt=65536)
    champion_check_seconds: float = Field(default=30.0, ge=0)
    # The service serves only versions whose promotion gate passed; naming a version here
    # serves it anyway (logged as forced): an operator's override, not a default.
    serve_ungated_version: str | None = None
    # The token POST /reload requires (Authorization: Bearer ...). Unset: the project's own,
    # generated on first use in `.secrets/service_token` (never committed).
    service_token: SecretStr | None = None
    # The prediction log is cut into segments of this size; this many earlier segments are
    # kept: the log never holds more than (keep + 1) x size (serving/prediction_log.py).
    prediction_log_max_mb: int = Field(default=100, gt=0)
    prediction_log_keep_files: int = Field(default=10, ge=1)
    # The service and batch scoring use a version's compiled scoring path (modeling/compiled.py)
    # when it has one; "pipeline" always scores with the registered scikit-learn pipeline.
    scoring_path: ScoringPath = "compiled"
    # In an A/B test (step 1's `experiment.rollout: ab`), the share of records the model on
    # trial answers: those whose key (the record's id; a ranking's query) hashes below it.
    challenger_share: float = Field(default=0.5, gt=0, lt=1)

    # Step 7: each side of a drift comparison is cut to this many rows (see monitoring/drift.py).
    # The retraining flow tells the service at `service_url` (default: the serve host and
    # port) to reload, and `loop --deployments` sends its traffic there instead of starting a
    # service; an alert is also POSTed as JSON to `alert_webhook_url` when set.
    monitoring_sample_rows: int = Field(default=20_000, ge=1_000)
    service_url: str | None = None
    alert_webhook_url: str | None = None
    dashboard_port: int = Field(default=8000, gt=0, lt=65536)
    # The worker schedules the monitoring deployment this often (0: only when triggered).
    monitor_every_minutes: int = Field(default=60, ge=0)

    # Servers: unset means embedded (Prefect starts a temporary local server with SQLite). With
    # it, `loop --deployments` runs each flow as a deployment run of the worker (deployments.py).
    prefect_api_url: str | None = None
    # Work that grows with rows or batches (batch scoring of a large file, ingesting a folder,
    # a parameter search, reading monitoring windows) runs on this Dask scheduler
    # (tcp://host:8786), or on worker processes started for the command ("local"); unset: in
    # this process, with pandas. See cluster.py.
    dask_address: str | None = None

    @model_validator(mode="after")
    def _resolve_paths_after_validation(self) -> Settings:
        return self.resolve_paths()

    def resolve_paths(self) -> Settings:
        self.project_dir = self.project_dir.expanduser().resolve()
        for name in (
            "data_dir",
            "reports_dir",
            "gx_dir",
            "prefect_home",
            "source_path",
            "mlflow_artifacts_dir",
            "requirements_file",
            "contract_file",
        ):
            value = getattr(self, name)
            if value is not None and not value.is_absolute():
                setattr(self, name, self.project_dir / value.expanduser())
        return self

    @property
    def validated_dir(self) -> Path:
        """Batches that passed the contract, one immutable Parquet file each."""
        return self.data_dir / "validated"

    @property
    def quarantine_dir(self) -> Path:
        """Batches that broke the contract, kept with their validation report."""
        return self.data_dir / "quarantine"

    @property
    def ingestion_log(self) -> Path:
        return self.data_dir / "ingestion_log.jsonl"

    @property
    def data_docs_dir(self) -> Path:
        return self.reports_dir / "data_docs"

    @property
    def prediction_log(self) -> Path:
        """Every prediction the service makes: features, score, model version, latency."""
        return self.data_dir / "predictions" / "prediction_log.jsonl"

    @property
    def scored_dir(self) -> Path:
        """Batches scored by the batch scoring flow."""
        return self.data_dir / "scored"

    @property
    def monitoring_reports_dir(self) -> Path:
        """One self-contained HTML drift report per monitoring run."""
        return self.reports_dir / "monitoring"

    @property
    def evidently_workspace(self) -> Path:
        """Snapshots of every monitoring run, for the dashboard (`evidently ui`)."""
        return self.monitoring_reports_dir / "workspace"

    @property
    def monitoring_log(self) -> Path:
        """One line per monitoring run: window, drift, action; where the next run starts."""
        return self.data_dir / "monitoring_log.jsonl"

    @property
    def labels_dir(self) -> Path:
        """Every labels file that arrived, as stored (one Parquet file each)."""
        return self.data_dir / "labels"

    @property
    def labelled_dir(self) -> Path:
        """Served records joined to their labels, written as batches to ingest and retrain on."""
        return self.data_dir / "labelled"

    @property
    def labels_log(self) -> Path:
        """One line per labels run: what joined, the online metrics' verdict, the action."""
        return self.data_dir / "labels_log.jsonl"

    @property
    def experiment_reports_dir(self) -> Path:
        """One JSON and one Markdown report per analysed experiment."""
        return self.reports_dir / "experiments"

    @property
    def online_metrics_file(self) -> Path:
        """Online metrics per model version and time window, rewritten by each labels run."""
        return self.monitoring_reports_dir / "online_metrics.json"

    @property
    def feature_repo_dir(self) -> Path:
        """The feature store's registry, offline Parquet files and SQLite online store."""
        return self.data_dir / "feature_store"

    @property
    def uses_feature_store(self) -> bool:
        return self.feature_store == "feast"

    @property
    def reload_url(self) -> str:
        base = self.service_url or f"http://{self.serve_host}:{self.serve_port}"
        return base.rstrip("/") + "/reload"

    @property
    def training_reports_dir(self) -> Path:
        """One folder per training run: metrics, plots and the model card."""
        return self.reports_dir / "training"

    @property
    def local_tracking_db(self) -> Path:
        return self.project_dir / "mlflow.db"

    @property
    def tracking_uri(self) -> str:
        return self.mlflow_tracking_uri or f"sqlite:///{self.local_tracking_db}"

    @property
    def tracks_locally(self) -> bool:
        return self.mlflow_tracking_uri is None


class SettingsError(ExpectedError):
    """An ``MLSD_*`` value (from the environment or ``.env``) is not one the setting accepts."""


def get_settings(project_dir: Path | None = None) -> Settings:
    """Read settings now (cheap), so a changed environment is always seen: this project's, or
    `project_dir`'s. A bad value raises `SettingsError` naming the variable, where it was set,
    and what it accepts."""
    project_dir = project_dir or find_project_dir()
    env_files = (project_dir / PROJECT_ENV_FILE, project_dir / ".env")  # the later one wins
    try:
        return Settings(_env_file=env_files, project_dir=project_dir)  # type: ignore[call-arg]
    except ValidationError as error:
        problems = []
        for item in error.errors(include_url=False):
            variable = ENV_PREFIX + "_".join(str(part) for part in item["loc"]).upper()
            where = "the environment" if variable in os.environ else set_in(variable, env_files)
            problems.append(f"  - {variable}={item.get('input')!r} (from {where}): {item['msg']}")
        raise SettingsError("bad settings:\n" + "\n".join(problems)) from None


def set_in(variable: str, env_files: tuple[Path, ...]) -> str:
    """The env file that sets `variable` last (the one whose value counts)."""
    found = [
        path
        for path in env_files
        if path.is_file()
        and any(
            line.split("=", 1)[0].strip() == variable
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines()
        )
    ]
    return str(found[-1] if found else env_files[-1])


def default_settings() -> Settings:
    """The defaults for this project directory, ignoring every MLSD_* value: where the tools'
    homes go when the configured settings are bad (the command then reports them)."""
    settings = Settings.model_construct(project_dir=find_project_dir())
    return settings.resolve_paths()
