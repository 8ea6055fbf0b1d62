"""The closed loop on one machine (`make all`, the `loop` command): every step of the system
for real, in one process so Prefect's temporary server starts once.

ingest -> validate -> train -> promote -> serve -> traffic -> its labels arrive (online
metrics) -> monitor (no drift) -> a drifted batch arrives -> its traffic -> its labels ->
monitor (drift) -> retrain through the gate -> promote -> the service reloads -> it serves the
new version. When step 1's `experiment.rollout` is ab or shadow, the promoted retrain goes on
trial first: more traffic is split (or shadowed), its labels arrive, and the experiment flow
decides whether it becomes the champion.

The data is the synthetic worked example, or your own table (`loop --source`): then the
table's first rows are ingested and trained on, the next are replayed as traffic, and the last
arrive with drift injected (`data/replay.py`); no synthetic data is involved.

`loop --deployments` runs it through standing servers, those of `make stack` or compose.yaml:
each flow is a deployment run that the worker executes, on the Prefect server that
MLSD_PREFECT_API_URL names, and the traffic goes to the service at MLSD_SERVICE_URL (one is
started when that is unset).
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pandas as pd

from . import progress
from .contract import DataContract, load_contract
from .credentials import service_headers
from .data.batches import read_batch, require_example_contract
from .data.replay import already_ingested, split_for_replay, write_parts
from .data.synthetic import DEFAULT_START, WORKED_EXAMPLE, generate_batch
from .processes import LocalServer, http_json, start_prefect_server
from .report import write_system_report
from .requirements import load_requirements
from .serving.local import ranking_requests, request_records, start_service
from .settings import Settings
from .stopwatch import work_seconds

if TYPE_CHECKING:
    from .data.feature_store import FeaturesOutcome
    from .data.ingestion import IngestionRecord
    from .monitoring.experiment import ExperimentOutcome
    from .monitoring.online import LabelsOutcome
    from .monitoring.steps import MonitoringOutcome
    from .training.steps import TrainingOutcome

T = TypeVar("T")
REQUEST_ROWS = 100


@dataclass
class LoopReport:
    steps: list[tuple[str, str, float, float]] = field(default_factory=list)
    artifacts: dict[str, str] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)

    def timed(
        self,
        name: str,
        step: Callable[[], T],
        describe: Callable[[T], str],
        work: Callable[[T, float], float] = lambda _, seconds: 0.0,
    ) -> T:
        """Run one step; `work` says how many of its seconds were the system's work."""
        started = time.perf_counter()
        with progress.step(f"loop: {name}"):
            result = step()
        seconds = time.perf_counter() - started
        self.steps.append((name, describe(result), seconds, work(result, seconds)))
        return result

    @property
    def work_seconds(self) -> float:
        """Reading data, validating, fitting, scoring, drift computation."""
        return sum(work for _, _, _, work in self.steps)

    @property
    def wall_seconds(self) -> float:
        return time.perf_counter() - self.started

    def render(self) -> str:
        width = max(len(name) for name, *_ in self.steps)
        lines = [f"{'step':<{width}}  {'wall':>7}  {'work':>7}  what happened"]
        lines += [
            f"{name:<{width}}  {seconds:5.1f} s  {work:5.1f} s  {what}"
            for name, what, seconds, work in self.steps
        ]
        wall = self.wall_seconds
        lines.append(
            f"{'total':<{width}}  {wall:5.1f} s  {self.work_seconds:5.1f} s  work is reading "
            "data, validating, fitting, scoring and drift; the rest (orchestration, tracking, "
            f"reports, imports) is {1 - self.work_seconds / wall:.0%}"
        )
        lines.append("")
        lines += [f"{what}: {where}" for what, where in self.artifacts.items()]
        return "\n".join(lines)


def latest_event_time(validated_dir: Path, contract: DataContract) -> datetime | None:
    """When the newest validated row happened: the next synthetic week starts there."""
    column = contract.timestamp_column
    files = sorted(validated_dir.glob("*.parquet"))
    if column is None or not files:
        return None
    latest = max(pd.read_parquet(path, columns=[column])[column].max() for path in files)
    return pd.Timestamp(latest).to_pydatetime()


def send_traffic(
    url: str, frame: pd.DataFrame, contract: DataContract, feature_store: bool = False
) -> int:
    """POST the batch's features to /predict, `REQUEST_ROWS` records per request; a ranking's
    as its users send them, one /rank request per query. With a `feature_store`, the records
    carry entity keys instead of the features it serves."""
    if contract.group_column is not None:
        requests = [("/rank", body) for body in ranking_requests(frame, contract, REQUEST_ROWS)]
    else:
        records = request_records(frame, contract, feature_store=feature_store)
        requests = [
            ("/predict", {"records": records[start : start + REQUEST_ROWS]})
            for start in range(0, len(records), REQUEST_ROWS)
        ]
    for path, request in requests:
        status, body = http_json(f"{url}{path}", request)
        if status != 200:
            raise RuntimeError(f"the service answered {status}: {body}")
    return len(frame)


def describe_monitoring(outcome: MonitoringOutcome) -> str:
    text = (
        f"drifted {', '.join(outcome.summary.drifted_features) or 'none'} "
        f"(share {outcome.summary.drift_share:.2f}) -> {outcome.action}"
    )
    if outcome.retrained:
        text += f"; {outcome.retrained['summary']}"
    return text + (f"; service {outcome.service}" if outcome.service else "")


def write_labels(
    frame: pd.DataFrame, contract: DataContract, path: Path, feature_store: bool = False
) -> Path:
    """The labels of records that were scored, as the system that observes outcomes would send
    them later: each record's id and target (and what else arrives with them)."""
    from .monitoring.online import label_columns

    path.parent.mkdir(parents=True, exist_ok=True)
    frame[label_columns(contract, feature_store)].to_csv(path, index=False)
    return path


def describe_labels(outcome: LabelsOutcome) -> str:
    counts, judged = outcome.counts, outcome.judged
    text = f"{counts.predictions} predictions got their label ({counts.late} late)"
    if judged is None:
        return text + "; too few to judge"
    return f"{text}; v{judged.model_version} online: {outcome.judged_metrics()} -> {outcome.action}"


@dataclass(frozen=True)
class Arrivals:
    """What the loop ingests and replays, in order; each is called when its turn comes."""

    first_batch: Callable[[], IngestionRecord]
    traffic: Callable[[], pd.DataFrame]  # after training: like the training data
    drifted_batch: Callable[[], IngestionRecord]  # labelled, shifted
    drifted_traffic: Callable[[], pd.DataFrame]
    trial_traffic: Callable[
        [], pd.DataFrame
    ]  # like the drifted: served while a retrain is on trial
    what: str  # how the report names the data


def background_imports(*modules: str) -> threading.Thread:
    """Import `modules` on a thread; join it before using them (an import that failed there
    fails again, with its traceback, where the module is then imported)."""

    def run() -> None:
        for module in modules:
            try:
                importlib.import_module(module)
            except Exception:  # raised again by the import that needs it
                return

    thread = threading.Thread(target=run, name="background-imports", daemon=True)
    thread.start()
    return thread


def heartbeats_off() -> contextlib.AbstractContextManager[object]:
    """A flow run sends heartbeats so that a standing server can tell when its process died;
    the loop's own server dies with the loop, so they tell nothing, and each flow run's end
    would wait up to 1 s for the heartbeat thread to notice it should stop."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    return temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None})


@dataclass(frozen=True)
class PipelineFlows:
    """How the loop runs each flow: called in this process, or triggered on a standing Prefect
    server as deployment runs that the worker executes. Either way it gets the flow's result."""

    ingest: Callable[..., IngestionRecord]
    train: Callable[[], TrainingOutcome]
    monitor: Callable[[str], MonitoringOutcome]  # the service to reload after a retrain
    labels: Callable[[Path, str], LabelsOutcome]  # the labels file, the service
    experiment: Callable[[str], ExperimentOutcome]  # the service to reload after a decision
    features: Callable[[], FeaturesOutcome]  # the feature store, when the project has one


def local_flows() -> PipelineFlows:
    """Each flow imported when first called: Prefect must not be imported before the loop has
    started its server."""

    def ingest(**arguments: Any) -> IngestionRecord:
        from .flows import ingestion_flow

        record: IngestionRecord = ingestion_flow(**arguments)
        return record

    def train() -> TrainingOutcome:
        from .flows import training_flow

        return training_flow()

    def monitor(service_url: str) -> MonitoringOutcome:
        from .flows import monitoring_flow

        return monitoring_flow(service_url=service_url)

    def labels(source: Path, service_url: str) -> LabelsOutcome:
        from .flows import labels_flow

        return labels_flow(source=source, service_url=service_url)

    def experiment(service_url: str) -> ExperimentOutcome:
        from .flows import experiment_flow

        return experiment_flow(service_url=service_url)

    def features() -> FeaturesOutcome:
        from .flows import features_flow

        return features_flow()

    return PipelineFlows(
        ingest=ingest,
        train=train,
        monitor=monitor,
        labels=labels,
        experiment=experiment,
        features=features,
    )


def deployed_flows() -> PipelineFlows:
    from .deployments import run_deployed

    return PipelineFlows(
        ingest=lambda **arguments: run_deployed("ingestion/ingest", arguments),
        train=lambda: run_deployed("training/train"),
        monitor=lambda url: run_deployed("monitoring/monitor", {"service_url": url}),
        labels=lambda source, url: run_deployed(
            "labels/join", {"source": str(source), "service_url": url}
        ),
        experiment=lambda url: run_deployed("experiment/analyse", {"service_url": url}),
        features=lambda: run_deployed("features/materialize"),
    )


def synthetic_arrivals(
    settings: Settings, contract: DataContract, rows: int, ingest: Callable[..., IngestionRecord]
) -> Arrivals:
    @functools.cache
    def week_after() -> datetime:
        # What arrives next happens after everything trained on: the week after the latest row,
        # taken once, when the first arrival after training asks.
        return latest_event_time(settings.validated_dir, contract) or DEFAULT_START

    return Arrivals(
        first_batch=ingest,
        traffic=lambda: generate_batch(rows, seed=settings.seed + 1, start=week_after()),
        drifted_batch=lambda: ingest(drift="covariate", seed=settings.seed + 2, start=week_after()),
        drifted_traffic=lambda: generate_batch(
            rows, seed=settings.seed + 3, drift="covariate", start=week_after()
        ),
        trial_traffic=lambda: generate_batch(
            rows, seed=settings.seed + 4, drift="covariate", start=week_after()
        ),
        what=f"{WORKED_EXAMPLE} (the worked example)",
    )


def replayed_arrivals(
    settings: Settings, contract: DataContract, source: Path, ingest: Callable[..., IngestionRecord]
) -> Arrivals:
    """Your table, cut into reference, replayed and drifted windows (`data/replay.py`)."""
    requirements = load_requirements(settings.requirements_file)
    frame = read_batch(source, contract)
    parts = split_for_replay(frame, contract, requirements.drift.min_window_rows, settings.seed)
    repeated = already_ingested(frame, settings.validated_dir)
    paths = write_parts(parts, settings.data_dir / "replay", source.stem)
    return Arrivals(
        first_batch=lambda: ingest(source=paths["reference"]),
        traffic=lambda: parts.live,
        drifted_batch=lambda: ingest(source=paths["drifted"]),
        drifted_traffic=lambda: parts.drifted,
        trial_traffic=lambda: parts.drifted,  # served again, now split between two versions
        what=f"{source.name}: {len(parts.reference)} rows to train on, {len(parts.live)} "
        f"replayed, {len(parts.drifted)} drifted"
        + (
            f"; WARNING: {repeated} of its {len(frame)} rows are already in this project's "
            "validated batches: cut into a new batch they are trained on twice and can reach "
            "the holdout (`make clean` first, or give only new rows)"
            if repeated
            else ""
        ),
    )


@dataclass(frozen=True)
class LoopRun:
    """What every phase of the loop works with: the flows, the service, and the report each
    step is timed into."""

    settings: Settings
    contract: DataContract
    flows: PipelineFlows
    report: LoopReport
    service_url: str

    @property
    def feature_store(self) -> bool:
        return self.settings.uses_feature_store

    def traffic(self, frame: pd.DataFrame, what: str) -> int:
        if self.feature_store:  # the users' features, as the upstream pipeline keeps them current
            from .data.feature_store import push_online

            push_online(frame, self.contract, self.settings)
        return self.report.timed(
            "traffic",
            lambda: send_traffic(self.service_url, frame, self.contract, self.feature_store),
            lambda n: f"{n} {what} scored over HTTP",
            lambda _, seconds: seconds,  # all of it is scoring
        )

    def monitor(self) -> MonitoringOutcome:
        return self.report.timed(
            "monitor",
            lambda: self.flows.monitor(self.service_url),
            describe_monitoring,
            lambda o, _: work_seconds(o.seconds),
        )

    def labels(self, frame: pd.DataFrame, name: str) -> LabelsOutcome | None:
        if self.contract.id_column is None:  # nothing to join labels to
            return None
        path = self.settings.data_dir / "arrivals" / f"{name}.csv"
        write_labels(frame, self.contract, path, self.feature_store)
        return self.report.timed(
            "labels",
            lambda: self.flows.labels(path, self.service_url),
            describe_labels,
            lambda o, _: work_seconds(o.seconds),
        )

    def ingest(
        self, name: str, arrival: Callable[[], IngestionRecord], what: str
    ) -> IngestionRecord:
        return self.report.timed(
            name,
            arrival,
            lambda r: f"{r.status}: {r.rows} {what}, batch {r.batch_id}",
            lambda r, _: work_seconds(r.seconds),
        )


@dataclass(frozen=True)
class DriftOutcome:
    batch: IngestionRecord
    traffic: pd.DataFrame  # the shifted records served
    online: LabelsOutcome | None
    monitoring: MonitoringOutcome


def run_closed_loop(
    settings: Settings,
    traffic_rows: int = 2_000,
    source: Path | None = None,
    deployments: bool = False,
) -> LoopReport:
    report = LoopReport()
    contract = load_contract(settings.contract_file)
    flows = deployed_flows() if deployments else local_flows()
    # Your table is read and cut first: a table the loop cannot use fails before anything starts.
    if source is None:
        require_example_contract(contract)
        arrivals = synthetic_arrivals(settings, contract, traffic_rows, flows.ingest)
    else:
        arrivals = replayed_arrivals(settings, contract, source, flows.ingest)
    report.steps.append(("data", arrivals.what, 0.0, 0.0))
    with contextlib.ExitStack() as scope:
        server, service_url = start_tools(settings, report, deployments, scope)
        run = LoopRun(settings, contract, flows, report, service_url)
        baseline = serve_first_model(run, arrivals.first_batch, server)
        quiet = serve_live_traffic(run, arrivals.traffic())
        drift = drift_arrives(run, arrivals)
        decided = put_on_trial(run, drift.monitoring, arrivals.trial_traffic)
        check_the_answer(run, drift.traffic, decided)
    report.artifacts = {
        "Data Docs": str(settings.data_docs_dir / "index.html"),
        "validated batches": f"{settings.validated_dir} ({baseline.batch_id}, "
        f"{drift.batch.batch_id})",
        "MLflow": settings.tracking_uri
        + (" (`make mlflow-ui`)" if settings.tracks_locally else " (the server's UI)"),
        "model cards": str(settings.training_reports_dir),
        "drift reports": f"{quiet.report}, {drift.monitoring.report}",
        "dashboard": f"{settings.evidently_workspace} (`make dashboard`)",
        "prediction log": str(settings.prediction_log),
        "online metrics": drift.online.metrics_file
        if drift.online
        else "none (the contract has no id)",
        **({"trial report": decided.report} if decided else {}),
        # Last: the page to open first, with every fact above and links to the rest.
        "system report": str(write_system_report(settings)),
    }
    return report


def start_tools(
    settings: Settings, report: LoopReport, deployments: bool, scope: contextlib.ExitStack
) -> tuple[LocalServer | None, str]:
    """Prefect's server and the service started (the service is not waited for), the step
    tools imported; `scope` stops what was started. Returns the service started (None when
    the loop uses a standing one) and its URL."""
    prefect_server = start_prefect_server(settings)
    if prefect_server is not None:
        scope.enter_context(heartbeats_off())
    if not deployments:  # the flows run here
        started = time.perf_counter()
        importlib.import_module(f"{__package__}.data.flow")  # Prefect and GX: the first step's
        # The later steps' tools import while the first steps run: their waits on the Prefect
        # server, files and numpy leave the interpreter free for it (~4 s). Recording a model
        # imports MLflow's scikit-learn flavour and skops only when it logs.
        later = background_imports(
            f"{__package__}.training.flow",
            "mlflow.sklearn",
            "skops.io",
            f"{__package__}.monitoring.flow",
        )
        scope.callback(later.join)
        report.steps.append(
            (
                "imports",
                "Prefect, GX (MLflow, scikit-learn, Evidently import beside ingestion)",
                time.perf_counter() - started,
                0.0,
            )
        )
    if prefect_server is not None:
        report.timed(
            "prefect",
            prefect_server.wait_until_up,
            lambda s: f"Prefect server on {s.url} (started before the imports, for this run)",
        )
    if deployments and settings.service_url:  # the standing service
        return None, settings.service_url.rstrip("/")
    # The service starts now, with no champion yet: its start-up overlaps ingestion and
    # training, and POST /reload loads the champion once there is one. (Started with the
    # Prefect server, the three start-ups shared two cores and all finished later.)
    server = start_service(settings.project_dir, log=settings.data_dir / "service.log", wait=False)
    scope.callback(server.stop)
    return server, server.url


def serve_first_model(
    run: LoopRun, first_batch: Callable[[], IngestionRecord], server: LocalServer | None
) -> IngestionRecord:
    """Ingest, (materialise the features,) train, and have the service load the champion."""
    baseline = run.ingest("ingest", first_batch, "rows")
    if run.feature_store:
        run.report.timed("features", run.flows.features, lambda o: o.summary())
    run.report.timed(
        "train",
        run.flows.train,  # a local import waits for the thread importing it (a module lock)
        lambda o: o.decision.summary(),
        lambda o, _: work_seconds(o.seconds),
    )
    if server is not None:
        run.report.timed(
            "serve",
            server.wait_until_up,
            lambda s: f"BentoML service on {s.url} (started before ingestion, for this run)",
        )
    url = run.service_url
    run.report.timed(
        "reload",
        lambda: http_json(f"{url}/reload", {}, headers=service_headers(run.settings)),
        lambda answer: f"the service at {url} loaded v{answer[1].get('version')}",
    )
    status, body = http_json(f"{url}/readyz")
    if status != 200:
        raise RuntimeError(f"the service is not ready: {status} {body}")
    return baseline


def serve_live_traffic(run: LoopRun, served: pd.DataFrame) -> MonitoringOutcome:
    """Records like the training data are served, their labels arrive, monitoring finds no
    drift."""
    run.traffic(served, "records like the training data")
    run.labels(served, "labels")
    return run.monitor()


def drift_arrives(run: LoopRun, arrivals: Arrivals) -> DriftOutcome:
    """A shifted batch is ingested with its labels, shifted records are served and labelled,
    and monitoring acts on the drift (a retrain through the gate)."""
    batch = run.ingest("drift arrives", arrivals.drifted_batch, "shifted rows, with labels")
    shifted = arrivals.drifted_traffic()
    run.traffic(shifted, "shifted records")
    online = run.labels(shifted, "labels-shifted")
    return DriftOutcome(batch, shifted, online, run.monitor())


def put_on_trial(
    run: LoopRun, alarmed: MonitoringOutcome, trial_traffic: Callable[[], pd.DataFrame]
) -> ExperimentOutcome | None:
    """When the retrain went on trial (step 1's rollout): its traffic and labels, then the
    experiment's decision."""
    if not (alarmed.retrained and alarmed.retrained.get("trial")):
        return None
    on_trial = trial_traffic()
    run.traffic(on_trial, f"records with v{alarmed.retrained['version']} on trial")
    run.labels(on_trial, "labels-trial")
    return run.report.timed(
        "experiment",
        lambda: run.flows.experiment(run.service_url),
        lambda o: f"{o.analysis.headline()}; {o.acted}",
    )


def check_the_answer(
    run: LoopRun, shifted: pd.DataFrame, decided: ExperimentOutcome | None
) -> None:
    """Which version the service answers with now."""
    records = request_records(shifted.head(1), run.contract, feature_store=run.feature_store)
    status, predictions = http_json(f"{run.service_url}/predict", {"records": records})
    if status != 200:
        raise RuntimeError(f"the service answered {status}: {predictions}")
    answered = f"the service now answers with v{predictions[0]['model_version']}"
    if decided is not None and decided.analysis.decision not in ("promote", "roll_back"):
        answered += f"; v{decided.trial_version} stays on trial beside it"
    run.report.steps.append(("check", answered, 0.0, 0.0))
