"""The project's command line: one subcommand per thing a person runs.

Heavy imports (Prefect, GX) happen inside the commands, so `--help` and `status` stay fast.
Every command checks what it will read and write before the expensive work, and ends with one
of the exit codes in `errors.EXIT_CODES`: a problem the user can fix is one message, no
traceback (`ReportingGroup`).
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from . import preflight
from .errors import (
    EXIT_CODES,
    UNEXPECTED_FAILURE,
    ExpectedError,
    expected_error_names,
)
from .settings import DriftKind, Settings, get_settings


class ReportingGroup(TyperGroup):
    """Runs a command and turns what it raises into an exit code: an `ExpectedError` is its
    one message; anything else is a failure of the system, printed with its traceback."""

    def invoke(self, ctx: Any) -> Any:  # typer.Context; typer vendors click's own
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):  # the CLI's own: usage, --help
            raise
        except ExpectedError as error:
            typer.secho(str(error), fg="red", err=True)
            raise typer.Exit(code=error.exit_code) from None
        except Exception:
            traceback.print_exc()
            typer.secho(
                f"Unexpected failure (exit {UNEXPECTED_FAILURE}): the traceback above says where.",
                fg="red",
                err=True,
            )
            raise typer.Exit(code=UNEXPECTED_FAILURE) from None


# The console script's name, which `--help` shows (the package's name is an import detail).
COMMAND = "{{ cookiecutter.project_slug }}"

app = typer.Typer(
    cls=ReportingGroup,
    help="An ML system in 7 steps: ingest and validate data, train, evaluate and promote models. "
    "Exit codes: " + "; ".join(f"{code} {meaning}" for code, meaning in EXIT_CODES.items()) + ".",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class ExpectedErrorsOnce(logging.Filter):
    """Prefect logs a failed task's or flow's exception with its traceback, up to four times;
    for an expected error the command prints the one message instead. (The run's state in
    Prefect's API still says why it failed.)"""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], ExpectedError):
            return False
        if record.levelno < logging.INFO:
            return True
        message = record.getMessage()
        # Names looked up now: the flow modules that define most of them load after the filter.
        names = expected_error_names()
        return not any(f"{name}(" in message or f"{name}:" in message for name in names)


def quiet_expected_errors() -> None:
    """Filter Prefect's console output (call after Prefect is imported and has set up logging)."""
    quiet = ExpectedErrorsOnce()
    for name in ("", "prefect", "prefect.flow_runs", "prefect.task_runs"):  # "": the console
        for handler in logging.getLogger(name).handlers:
            if type(handler).__name__ != "APILogHandler":
                handler.addFilter(quiet)


def start_pipeline(settings: Settings) -> None:
    """Before a flow command imports Prefect: a Prefect server of its own (unless a standing
    one is configured), which dies with the command."""
    from .processes import start_prefect_server

    # Prefect reads its API URL when imported: once it is (a test, an embedding program),
    # the server it was configured with is the one it uses.
    server = None if "prefect" in sys.modules else start_prefect_server(settings)
    from prefect.logging.configuration import setup_logging

    setup_logging()  # now rather than at the first flow run, so the filter has handlers
    quiet_expected_errors()
    if server is not None:
        server.wait_until_up()


@app.callback()
def check_settings(ctx: typer.Context) -> None:
    # `status` reports bad settings itself (as JSON with --json).
    if ctx.invoked_subcommand != "status":
        get_settings()


DriftOption = Annotated[
    DriftKind | None,
    typer.Option(help="Drift to inject into a synthetic batch (default: from settings)."),
]


@app.command()
def ingest(
    source: Annotated[
        Path | None,
        typer.Option(
            help="CSV or Parquet batch to ingest instead of synthetic data; or a folder of them, "
            "each one batch (on Dask when MLSD_DASK_ADDRESS is set)."
        ),
    ] = None,
    rows: Annotated[int | None, typer.Option(min=1, help="Rows of a synthetic batch.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of a synthetic batch.")] = None,
    drift: DriftOption = None,
) -> None:
    """Ingest a batch (or a folder of them): validate it against the data contract, then store
    or quarantine it."""
    settings = get_settings()
    preflight.for_ingestion(settings)
    start_pipeline(settings)
    from .flows import folder_ingestion_flow, ingestion_flow

    given = source if source is not None else settings.source_path
    if given is not None and given.is_dir():
        for record in folder_ingestion_flow(given):
            typer.echo(f"{record.source}: {record.status}, {record.rows} rows -> {record.path}")
            _echo_tolerated(record.warnings)
        return
    record = ingestion_flow(source=source, rows=rows, seed=seed, drift=drift)
    typer.echo(
        f"{record.status}: batch {record.batch_id} ({record.rows} rows) -> {record.path}\n"
        f"Data Docs: {record.data_docs}"
    )
    _echo_tolerated(record.warnings)


def _echo_tolerated(warnings: list[str]) -> None:
    if warnings:
        typer.secho(
            "Stored; outside an expected range, within the contract's tolerance:", fg="yellow"
        )
        for warning in warnings:
            typer.secho(f"  - {warning}", fg="yellow")


@app.command()
def features() -> None:
    """Load the validated batches' entity features into the feature store (Feast's offline
    store) and materialize their latest values into the online store the service reads."""
    settings = get_settings()
    preflight.for_features(settings)
    start_pipeline(settings)
    from .flows import features_flow

    outcome = features_flow()
    typer.secho(outcome.summary(), fg="yellow" if outcome.freshness.stale else "green")


@app.command()
def train() -> None:
    """Train the configured model on all validated data, register it in MLflow, and promote it
    to champion if it passes the gate. A failed gate is reported, not an error."""
    settings = get_settings()
    preflight.for_training(settings)
    start_pipeline(settings)
    from .flows import training_flow

    outcome = training_flow()
    colour = "green" if outcome.decision.promote else "yellow"
    typer.secho(outcome.summary(), fg=colour)
    typer.echo(f"MLflow: {get_settings().tracking_uri}")


@app.command()
def score(
    source: Annotated[Path, typer.Argument(help="CSV or Parquet file of records to score.")],
) -> None:
    """Score a batch with the champion; writes Parquet with `score` and `model_version`."""
    settings = get_settings()
    preflight.for_scoring(settings)
    start_pipeline(settings)
    from .flows import scoring_flow

    output = scoring_flow(source)
    typer.echo(f"scores written to {output}")


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Interface (default: settings, 127.0.0.1).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: settings, 3000).")] = None,
) -> None:
    """Serve the champion model over HTTP with BentoML (POST /predict, /reload; GET /readyz)."""
    settings = get_settings()
    preflight.documents(settings)
    service = f"{__package__}.serving.service:PredictionService"
    command = [
        sys.executable, "-m", "bentoml", "serve", service,
        "--host", host or settings.serve_host,
        "--port", str(port or settings.serve_port),
    ]  # fmt: skip
    typer.echo(" ".join(command[2:]))
    # BentoML takes over the process and its signals. A fixed command: this interpreter, its
    # BentoML, this package's service; only the host and port come from the caller.
    os.execv(sys.executable, command)  # nosec B606


@app.command()
def monitor(
    source: Annotated[
        Path | None,
        typer.Option(help="CSV or Parquet batch to judge instead of the new prediction log rows."),
    ] = None,
    retrain: Annotated[
        bool, typer.Option(help="Retrain when drift crosses step 1's retrain threshold.")
    ] = True,
) -> None:
    """Compare what the service scored since the last run (or a batch) with the champion's
    training data; alert or retrain as step 1's drift thresholds say."""
    settings = get_settings()
    preflight.for_monitoring(settings, retrain)
    start_pipeline(settings)
    from .flows import monitoring_flow

    outcome = monitoring_flow(source=source, retrain=retrain)
    colour = {"none": "green", "too_few_rows": "yellow"}.get(outcome.action, "red")
    typer.secho(outcome.headline(), fg=colour)


@app.command()
def labels(
    source: Annotated[
        Path,
        typer.Argument(
            help="CSV or Parquet file of labels that arrived: the record id and the target "
            "columns of the contract, optionally `labelled_at` (when each was observed)."
        ),
    ],
    retrain: Annotated[
        bool, typer.Option(help="Retrain when step 1's online thresholds say so.")
    ] = True,
) -> None:
    """Join labels that arrived later to the predictions the service logged, measure online
    metrics per model version and time window, and alert or retrain as step 1 says."""
    settings = get_settings()
    preflight.for_labels(settings, retrain)
    start_pipeline(settings)
    from .flows import labels_flow

    outcome = labels_flow(source=source, retrain=retrain)
    colour = {"none": "green", "too_few_labels": "yellow"}.get(outcome.action, "red")
    typer.secho(outcome.headline(), fg=colour)


@app.command()
def experiment(
    decide: Annotated[
        bool, typer.Option(help="Promote or roll back as step 1's rules decide (else report only).")
    ] = True,
) -> None:
    """Analyse the trial of the version beside the champion (an A/B test or shadow) on the
    labels that arrived: the business metric per arm with its interval; promote, keep or roll
    back by step 1's rules."""
    settings = get_settings()
    preflight.for_monitoring(settings, retrain=False)
    start_pipeline(settings)
    from .flows import experiment_flow

    outcome = experiment_flow(decide=decide)
    colour = {"promote": "green", "roll_back": "red"}.get(outcome.analysis.decision, "yellow")
    typer.secho(outcome.headline(), fg=colour)


@app.command()
def dashboard(
    port: Annotated[int | None, typer.Option(help="Port (default: settings, 8000).")] = None,
) -> None:
    """Open the monitoring dashboard (Evidently UI over the project's workspace) on 127.0.0.1."""
    settings = get_settings()
    settings.evidently_workspace.mkdir(parents=True, exist_ok=True)
    # Evidently's own console script, from this environment: the package has no __main__.
    evidently = str(Path(sys.executable).with_name("evidently"))
    command = [
        evidently, "ui",
        "--workspace", str(settings.evidently_workspace),
        "--host", "127.0.0.1", "--port", str(port or settings.dashboard_port),
    ]  # fmt: skip
    typer.echo(" ".join(command))
    os.execv(evidently, command)  # nosec B606 # the environment's own evidently, fixed arguments


@app.command()
def loop(
    source: Annotated[
        Path | None,
        typer.Option(
            help="Your CSV or Parquet table to run the loop on, instead of synthetic data."
        ),
    ] = None,
    deployments: Annotated[
        bool,
        typer.Option(
            help="Run each flow as a deployment run of the worker on the Prefect server "
            "MLSD_PREFECT_API_URL names, and send traffic to MLSD_SERVICE_URL (`make stack`)."
        ),
    ] = False,
) -> None:
    """Run the whole system once, for real: ingest, train, serve, send traffic, inject drift,
    detect it, retrain, promote, and check the service serves the new version."""
    from .loop import run_closed_loop

    settings = get_settings()
    if deployments and not settings.prefect_api_url:
        raise typer.BadParameter(
            "needs a standing Prefect server with the worker: set MLSD_PREFECT_API_URL "
            "(`make stack` prints it)",
            param_hint="--deployments",
        )
    preflight.for_monitoring(settings, retrain=True)
    preflight.for_ingestion(settings)
    report = run_closed_loop(settings, source=source, deployments=deployments)
    typer.echo(report.render())


contract_app = typer.Typer(
    cls=ReportingGroup, help="Step 2: the data contract.", no_args_is_help=True
)
app.add_typer(contract_app, name="contract")


@contract_app.command("infer")
def contract_infer(
    sources: Annotated[
        list[Path],
        typer.Argument(
            help="CSV or Parquet file(s) of your data, or folders of them: inferred from all "
            "their rows together (more data, better ranges)."
        ),
    ],
    target: Annotated[
        str, typer.Option(help="The column to predict (what it may be: contract/README.md).")
    ],
    id_column: Annotated[
        str | None, typer.Option("--id", help="A column naming each row (unique).")
    ] = None,
    timestamp: Annotated[
        str | None, typer.Option(help="A column of date-times: splits and windows go by it.")
    ] = None,
    positive: Annotated[
        str | None,
        typer.Option(
            help="Classification: the target's positive class (default: 1, true, or the rarer)."
        ),
    ] = None,
    group: Annotated[
        str | None,
        typer.Option(help="Ranking: the column naming each row's query (rows ranked together)."),
    ] = None,
    output: Annotated[Path, typer.Option(help="Where to write the contract.")] = Path(
        "contract.yaml"
    ),
    requirements: Annotated[
        Path | None,
        typer.Option(help="Where to write a starting requirements file (default: beside it)."),
    ] = None,
    force: Annotated[bool, typer.Option(help="Replace files that exist.")] = False,
    name: Annotated[
        str | None,
        typer.Option(
            help="The contract's name, which its validation suite carries (default: the "
            "table's, from its file or folder name without a batch number)."
        ),
    ] = None,
) -> None:
    """Infer a data contract (and starting requirements) from a table, for you to review.
    Run it again on more data, then `contract diff` the two files to see what changed."""
    from .contract.inference import contract_name, infer_contract, requirements_yaml
    from .contract.values import InferenceError
    from .data.batches import read_tables

    requirements = requirements or output.with_name("requirements.yaml")
    if output.exists() and not force:
        raise InferenceError(f"{output} exists: pass --force to replace it, or choose --output")
    frame, files = read_tables(sources)
    named = name or contract_name(sources[0])
    inferred = infer_contract(frame, target, named, id_column, timestamp, positive, group)
    output.parent.mkdir(parents=True, exist_ok=True)
    shown = files[0].name if len(files) == 1 else f"{len(files)} files ({files[0].name}, ...)"
    output.write_text(inferred.to_yaml(shown), encoding="utf-8")
    for column in inferred.contract.columns:
        typer.echo(f"  {column.name}: {inferred.notes.get(column.name, '')}")
    typer.echo(
        f"wrote {output}: contract {named!r}"
        + ("" if name else " (--name to choose another)")
        + f", {len(inferred.contract.columns)} columns, {len(frame)} rows from {shown}"
    )
    wrote_requirements = force or not requirements.exists()
    if wrote_requirements:
        requirements.write_text(requirements_yaml(inferred.contract, frame), encoding="utf-8")
        typer.echo(f"wrote {requirements} (step 1: rewrite the goals, check the thresholds)")
    else:
        typer.echo(f"kept {requirements}, which exists")
    if inferred.review:
        typer.secho("Review:", fg="yellow")
        for item in inferred.review:
            typer.secho(f"  - {item}", fg="yellow")
    project = get_settings().project_dir
    typer.echo(
        "Then use them: put these lines in "
        f"{project / '.env'}\n  MLSD_CONTRACT_FILE={_shown(output, project)}\n"
        f"  MLSD_REQUIREMENTS_FILE={_shown(requirements, project)}"
    )


@contract_app.command("diff")
def contract_diff(
    old: Annotated[Path, typer.Argument(help="The contract in use (e.g. contract.yaml).")],
    new: Annotated[Path, typer.Argument(help="The proposed one (e.g. from a new `infer`).")],
) -> None:
    """What changed between two contracts, column by column, and the version it implies."""
    from .contract import load_contract
    from .contract.diff import diff_contracts

    typer.echo(diff_contracts(load_contract(old), load_contract(new)).summary())


def _shown(path: Path, project: Path) -> str:
    """`path` as settings read it: relative to the project directory when inside it."""
    resolved = path.resolve()
    return str(resolved.relative_to(project)) if resolved.is_relative_to(project) else str(resolved)


@app.command()
def worker() -> None:
    """Serve the pipeline's flows as deployments to a standing Prefect server (needs
    MLSD_PREFECT_API_URL); start runs from its UI or `prefect deployment run`."""
    settings = get_settings()
    if not settings.prefect_api_url:
        typer.secho(
            "The worker needs a standing Prefect server: set MLSD_PREFECT_API_URL "
            "(e.g. http://127.0.0.1:4200/api after `prefect server start`).",
            fg="red",
            err=True,
        )
        raise typer.Exit(code=2)
    # Prefect's runner keeps a folder in the temporary directory: keep it in the project, as
    # the flow runs it starts (they inherit the variable).
    temporary = settings.prefect_home / "tmp"
    temporary.mkdir(parents=True, exist_ok=True)
    os.environ["TMPDIR"] = tempfile.tempdir = str(temporary)
    from prefect import serve as serve_deployments

    from .deployments import pipeline_deployments

    serve_deployments(*pipeline_deployments(settings.monitor_every_minutes))


@app.command()
def stack(
    folder: Annotated[
        Path | None, typer.Option(help="Where the servers keep their state (default: .stack).")
    ] = None,
) -> None:
    """Start the server topology of compose.yaml as local processes, with no Docker: PostgreSQL,
    an MLflow server on it, a Prefect server, the worker and the service. Ctrl-C stops them."""
    import signal
    import time

    from .stack import running_stack

    settings = get_settings()
    # Ctrl-C and `kill` both stop every server on the way out of `running_stack` (SIGINT is set
    # again because a shell starts background jobs with it ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))
    typer.echo("Starting PostgreSQL, the MLflow and Prefect servers, the worker and the service...")
    with running_stack(settings.project_dir, folder) as info:
        env_file = info.env_file()
        typer.echo(
            f"PostgreSQL (MLflow's store): {info.postgres_uri}\n"
            f"MLflow server:   {info.mlflow_url}\n"
            f"Prefect server:  {info.prefect_url}  (UI; the worker serves every flow)\n"
            f"Service:         {info.service_url}/  (API docs)\n"
            f"Logs and state:  {info.folder}\n\n"
            f"In another shell, point commands at these servers and run the loop through them:\n"
            f"  set -a; . {env_file}; set +a\n"
            f"  {COMMAND} loop --deployments\n\n"
            "Ctrl-C stops every server."
        )
        try:
            while (gone := info.exited()) is None:
                time.sleep(1)
        finally:
            typer.echo("Stopping the stack...")
    typer.secho(f"The stack stopped: {gone} exited.", fg="red", err=True)
    raise typer.Exit(code=UNEXPECTED_FAILURE)


@app.command()
def generate(
    output: Annotated[Path, typer.Argument(help="File to write: .csv or .parquet")],
    rows: Annotated[int, typer.Option(min=1)] = 10_000,
    seed: Annotated[int, typer.Option()] = 42,
    drift: DriftOption = None,
) -> None:
    """Write a synthetic batch to a file (to inspect, edit, or ingest with --source)."""
    from .data.synthetic import generate_batch

    frame = generate_batch(rows=rows, seed=seed, drift=drift or "none")
    output.parent.mkdir(parents=True, exist_ok=True)
    if output.suffix.lower() == ".csv":
        frame.to_csv(output, index=False)
    elif output.suffix.lower() in (".parquet", ".pq"):
        frame.to_parquet(output, index=False)
    else:
        raise typer.BadParameter("use a .csv or .parquet file name", param_hint="OUTPUT")
    typer.echo(f"wrote {len(frame)} rows to {output}")


@app.command()
def secrets() -> None:
    """Write compose.yaml's secrets (database and MLflow passwords, Prefect's auth string) into
    .env (never committed), new random ones for those not set yet."""
    from .credentials import compose_secrets

    project_dir = get_settings().project_dir
    added = compose_secrets(project_dir)
    shown = ", ".join(added) if added else "none: every one was already set"
    typer.echo(f"{project_dir / '.env'}: added {shown}")


@app.command()
def report() -> None:
    """Write the system report (reports/index.html: the 7 steps, their key facts and links to
    every artifact) from what has run, and print where it is."""
    from .report import write_system_report

    typer.echo(write_system_report(get_settings()))


@app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """Show settings, paths, and what has run."""
    from .status import collect_status

    try:
        report = collect_status(get_settings())
    except ExpectedError as error:
        if not as_json:
            raise
        typer.echo(json.dumps({"error": str(error), "exit_code": error.exit_code}, indent=2))
        raise typer.Exit(code=error.exit_code) from None
    if as_json:
        typer.echo(json.dumps(report, indent=2, default=str))
        return
    ingestion = report["ingestion"]
    typer.echo(f"project dir:      {report['settings']['project_dir']}")
    typer.echo(f"contract:         {report['contract']['name']} v{report['contract']['version']}")
    typer.echo(f"validated:        {ingestion['validated_batches']} batches")
    typer.echo(f"quarantined:      {ingestion['quarantined_batches']} batches")
    typer.echo(f"data docs:        {report['tools']['data_docs']}")
    last = ingestion["last_run"]
    typer.echo(f"last ingestion:   {last['status'] + ' ' + last['batch_id'] if last else 'none'}")
    registry = report["registry"]
    typer.echo(f"mlflow:           {registry['tracking_uri']}")
    typer.echo(
        f"registered model: {registry['registered_model']} ({registry['versions']} versions)"
    )
    primary = report["requirements"]["primary_metric"]
    for alias in ("champion", "challenger"):
        if alias in registry:
            entry = registry[alias]
            typer.echo(
                f"{alias + ':':<17} v{entry['version']} "
                f"({primary} {entry['metrics'].get(primary, float('nan')):.4f})"
            )


def main() -> None:
    """The console script: the CLI, then a quick exit. With Prefect, GX, MLflow and Evidently
    imported, the interpreter's last step frees every module object by object (~4 s here) and
    changes nothing on disk. Python still runs what comes before it (Prefect's last logs
    sent, non-daemon threads joined, exit handlers: servers stopped); the handler registered
    here first runs last of them, and ends the process there with the command's exit code."""
    status: list[int] = [0]

    def end_now() -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status[0])

    atexit.register(end_now)
    try:
        app(prog_name=COMMAND)
    except SystemExit as exit_:
        code = exit_.code
        # Python prints a message given as the code and exits 1.
        status[0] = code if isinstance(code, int) else 0 if code is None else 1
        raise
    except BaseException as error:  # not through the CLI's handlers: an interrupt, a bug
        status[0] = 130 if isinstance(error, KeyboardInterrupt) else 1
        raise
