"""The monitoring flow (Prefect): compare the current window with the champion's training data,
write the report and the dashboard snapshot, and act on step 1's thresholds: nothing, an alert,
or retraining through the same gate, after which the service is told to reload.

A retrain fits the champion's candidate (or settings' `retrain_model_name`) on every validated
batch (`retrain.py`). When the judged window is a labelled batch file, that batch is ingested
first (validated and stored, or quarantined, which stops the run before any retrain), so the
retrain sees it. The labels flow (`labels_flow.py`) and the experiment flow
(`experiment_flow.py`) act on the labels that arrive later."""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path

import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from ..contract import DataContract, load_contract
from ..contract.tolerance import outside_expected
from ..modeling.scoring import ScoringModel
from ..requirements import load_requirements
from ..serving import batch
from ..stopwatch import Stopwatch
from ..training import registry
from ..training.scoring import load_scoring_model
from . import drift, steps, windows, workspace
from .retrain import ingest_before_retrain, retrain_champion, settings_for

compare_windows = task(name="compare-windows", cache_policy=NO_CACHE)(drift.compare)
load_reference = task(name="load-reference", cache_policy=NO_CACHE)(windows.reference_window)
save_report = task(name="save-report", cache_policy=NO_CACHE)(steps.save_report)
add_snapshot = task(name="add-to-dashboard", cache_policy=NO_CACHE)(workspace.add_snapshot)


@task(name="load-current-window", cache_policy=NO_CACHE)
def load_current(
    source: Path | None, offset: int, log: Path, contract: DataContract, model: ScoringModel
) -> tuple[pd.DataFrame, int | None, list[str]]:
    if source is None:
        return windows.prediction_log_window(log, offset, windows.WINDOW_NEWEST_BYTES)
    return windows.batch_window(source, contract, model), None, []


@flow(
    name="monitoring",
    persist_result=True,  # read back by `deployments.run_deployed`
)
def monitoring_flow(
    source: Path | None = None, retrain: bool = True, service_url: str | None = None
) -> steps.MonitoringOutcome:
    """Judge what the service scored since the last run (or the batch `source`) against the
    champion's training data; retrain when drift crosses step 1's threshold (unless `retrain`
    is False), then ask the service at `service_url` (default: settings) to reload."""
    settings = settings_for(service_url)
    requirements = load_requirements(settings.requirements_file)
    contract = load_contract(settings.contract_file)
    thresholds = requirements.drift
    logger = get_run_logger()

    registry.configure_tracking(settings)
    champion = batch.champion(settings.registered_model_name)
    model = load_scoring_model(champion, contract, settings.scoring_path)

    timed = Stopwatch("monitoring")
    offset = steps.last_offset(settings.monitoring_log)
    current, end, skipped = timed(
        "load_current",
        load_current,
        source,
        offset,
        settings.prediction_log,
        contract,
        model,
    )
    window = str(source) if source is not None else steps.PREDICTION_LOG
    if skipped:
        shown = ", ".join(skipped[:5]) + (
            f" and {len(skipped) - 5} more" if len(skipped) > 5 else ""
        )
        logger.warning(
            "skipped %d prediction-log lines that are not JSON records: %s", len(skipped), shown
        )
    if len(current) < thresholds.min_window_rows:
        outcome = steps.MonitoringOutcome(
            window=window,
            champion=champion.version,
            action="too_few_rows",
            summary=drift.DriftSummary.not_compared(len(current)),
            report="none: the window has fewer rows than step 1's min_window_rows "
            f"({thresholds.min_window_rows})",
            snapshot_id="",
            log_offset=end,
            skipped_lines=len(skipped),
            seconds=timed.seconds,
        )
        steps.record(outcome, settings)
        logger.info(outcome.headline())
        return outcome

    reference = timed(
        "load_reference",
        load_reference,
        settings.validated_dir,
        contract,
        champion,
        model,
        settings.monitoring_sample_rows,
        settings.seed,
        settings.dask_address,
    )
    snapshot, summary = timed(
        "compare",
        compare_windows,
        reference,
        current,
        contract,
        thresholds,
        settings.monitoring_sample_rows,
        settings.seed,
    )
    report = timed("save_report", save_report, snapshot, settings, window)
    snapshot_id = timed(
        "add_to_dashboard",
        add_snapshot,
        settings.evidently_workspace,
        settings.registered_model_name,
        contract,
        snapshot,
    )
    action = drift.decide(summary, thresholds)
    outcome = steps.MonitoringOutcome(
        window=window,
        champion=champion.version,
        action=action,
        summary=summary,
        report=str(report),
        snapshot_id=snapshot_id,
        log_offset=end,
        skipped_lines=len(skipped),
        outside_expected={
            name: share for name, share in outside_expected(current, contract).items() if share
        },
        seconds=timed.seconds,
    )
    if action in ("alert", "retrain"):
        steps.send_alert(outcome.headline(), asdict(summary), settings)
    if action == "retrain" and retrain:
        ingested = None
        if source is not None and contract.target.name in current.columns:
            try:
                ingested = ingest_before_retrain(source, timed)
            except Exception:
                failed = {"summary": "not retrained: the labelled batch could not be ingested"}
                steps.record(replace(outcome, retrained=failed), settings)
                raise
        retrained, service = retrain_champion(settings, champion, timed, ingested)
        outcome = replace(outcome, retrained=retrained, service=service)
    steps.record(outcome, settings)
    logger.info(outcome.headline())
    return outcome
