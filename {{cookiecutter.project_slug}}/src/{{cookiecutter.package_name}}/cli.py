"""The project's command line: one subcommand per thing a person runs.

Heavy imports (Prefect, GX) happen inside the commands, so `--help` and `status` stay fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from .settings import DriftKind, get_settings

app = typer.Typer(
    help="An ML system in 7 steps: ingest and validate data, train, evaluate and promote models.",
    no_args_is_help=True,
    add_completion=False,
)

DriftOption = Annotated[
    DriftKind | None,
    typer.Option(help="Drift to inject into a synthetic batch (default: from settings)."),
]


@app.command()
def ingest(
    source: Annotated[
        Path | None, typer.Option(help="CSV or Parquet batch to ingest instead of synthetic data.")
    ] = None,
    rows: Annotated[int | None, typer.Option(min=1, help="Rows of a synthetic batch.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of a synthetic batch.")] = None,
    drift: DriftOption = None,
) -> None:
    """Ingest one batch: validate it against the data contract, then store or quarantine it."""
    from .data.batches import BatchReadError
    from .data.flow import ingestion_flow
    from .data.ingestion import BatchRejectedError

    try:
        record = ingestion_flow(source=source, rows=rows, seed=seed, drift=drift)
    except BatchRejectedError as rejected:
        typer.secho(str(rejected), fg="red", err=True)
        raise typer.Exit(code=1) from None
    except BatchReadError as error:
        typer.secho(f"Cannot ingest: {error}", fg="red", err=True)
        raise typer.Exit(code=2) from None
    typer.echo(
        f"{record.status}: batch {record.batch_id} ({record.rows} rows) -> {record.path}\n"
        f"Data Docs: {record.data_docs}"
    )


@app.command()
def train() -> None:
    """Train the configured model on all validated data, register it in MLflow, and promote it
    to champion if it passes the gate. A failed gate is reported, not an error."""
    from .training.dataset import NoTrainingDataError
    from .training.flow import training_flow

    try:
        outcome = training_flow()
    except NoTrainingDataError as error:
        typer.secho(f"Cannot train: {error}", fg="red", err=True)
        raise typer.Exit(code=2) from None
    colour = "green" if outcome.decision.promote else "yellow"
    typer.secho(outcome.summary(), fg=colour)
    typer.echo(f"MLflow: {get_settings().tracking_uri}")


@app.command()
def score(
    source: Annotated[Path, typer.Argument(help="CSV or Parquet file of records to score.")],
) -> None:
    """Score a batch with the champion; writes Parquet with `score` and `model_version`."""
    from .data.batches import BatchReadError
    from .serving.flow import scoring_flow
    from .serving.scorer import NoChampionError

    try:
        output = scoring_flow(source)
    except (BatchReadError, NoChampionError) as error:
        typer.secho(f"Cannot score: {error}", fg="red", err=True)
        raise typer.Exit(code=2) from None
    typer.echo(f"scores written to {output}")


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Interface (default: settings, 127.0.0.1).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: settings, 3000).")] = None,
) -> None:
    """Serve the champion model over HTTP with BentoML (POST /predict, /reload; GET /readyz)."""
    import os
    import sys

    settings = get_settings()
    service = f"{__package__}.serving.service:ClickService"
    command = [
        sys.executable, "-m", "bentoml", "serve", service,
        "--host", host or settings.serve_host,
        "--port", str(port or settings.serve_port),
    ]  # fmt: skip
    typer.echo(" ".join(command[2:]))
    os.execv(sys.executable, command)  # BentoML takes over the process and its signals


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
    from .data.batches import BatchReadError
    from .monitoring.flow import monitoring_flow
    from .monitoring.windows import WindowError
    from .serving.scorer import NoChampionError

    try:
        outcome = monitoring_flow(source=source, retrain=retrain)
    except (BatchReadError, NoChampionError, WindowError) as error:
        typer.secho(f"Cannot monitor: {error}", fg="red", err=True)
        raise typer.Exit(code=2) from None
    colour = {"none": "green", "too_few_rows": "yellow"}.get(outcome.action, "red")
    typer.secho(outcome.headline(), fg=colour)


@app.command()
def dashboard(
    port: Annotated[int | None, typer.Option(help="Port (default: settings, 8000).")] = None,
) -> None:
    """Open the monitoring dashboard (Evidently UI over the project's workspace) on 127.0.0.1."""
    import os
    import sys

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
    os.execv(evidently, command)


@app.command()
def loop() -> None:
    """Run the whole system once, for real: ingest, train, serve, send traffic, inject drift,
    detect it, retrain, promote, and check the service serves the new version."""
    from .loop import run_closed_loop

    report = run_closed_loop(get_settings())
    typer.echo(report.render())


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
    from prefect import serve as serve_deployments

    from .deployments import pipeline_deployments

    serve_deployments(*pipeline_deployments(settings.monitor_every_minutes))


@app.command()
def generate(
    output: Annotated[Path, typer.Argument(help="File to write: .csv or .parquet")],
    rows: Annotated[int, typer.Option(min=1)] = 10_000,
    seed: Annotated[int, typer.Option()] = 42,
    drift: DriftOption = None,
) -> None:
    """Write a synthetic batch to a file (to inspect, edit, or ingest with --source)."""
    from .data.synthetic import generate_impressions

    frame = generate_impressions(rows=rows, seed=seed, drift=drift or "none")
    output.parent.mkdir(parents=True, exist_ok=True)
    if output.suffix.lower() == ".csv":
        frame.to_csv(output, index=False)
    elif output.suffix.lower() in (".parquet", ".pq"):
        frame.to_parquet(output, index=False)
    else:
        raise typer.BadParameter("use a .csv or .parquet file name", param_hint="OUTPUT")
    typer.echo(f"wrote {len(frame)} rows to {output}")


@app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """Show settings, paths, and what has run."""
    from .status import collect_status

    report = collect_status(get_settings())
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
