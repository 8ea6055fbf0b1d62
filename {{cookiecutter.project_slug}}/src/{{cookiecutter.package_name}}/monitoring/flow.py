"""The monitoring flows (Prefect).

Monitoring: compare the current window with the champion's training data, write the report and
the dashboard snapshot, and act on step 1's thresholds: nothing, an alert, or retraining through
the same gate, after which the service is told to reload.

Labels: labels that arrived later than the predictions are joined to the prediction log, online
metrics are measured per model version and time window (`online.py`) and shown on the dashboard,
and step 1's `online_metrics` thresholds act like drift's: an alert, or a retrain on the
labelled traffic.

A retrain fits the champion's candidate (or settings' `retrain_model_name`) on every validated
batch. When the judged window is a labelled batch file, that batch is ingested first (validated
and stored, or quarantined, which stops the run before any retrain), so the retrain sees it."""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from ..contract import DataContract, load_contract
from ..contract.tolerance import outside_expected
from ..data.flow import ingestion_flow
from ..modeling.scoring import ScoringModel
from ..requirements import load_requirements
from ..serving import batch
from ..settings import Settings, get_settings
from ..stopwatch import Stopwatch
from ..training import registry
from ..training.flow import training_flow
from ..training.scoring import load_scoring_model
from . import drift, experiment, online, steps, windows, workspace

compare_windows = task(name="compare-windows", cache_policy=NO_CACHE)(drift.compare)
load_reference = task(name="load-reference", cache_policy=NO_CACHE)(windows.reference_window)
save_report = task(name="save-report", cache_policy=NO_CACHE)(steps.save_report)
add_snapshot = task(name="add-to-dashboard", cache_policy=NO_CACHE)(workspace.add_snapshot)
reload_service = task(name="reload-service", cache_policy=NO_CACHE)(steps.reload_service)
read_labels = task(name="read-labels", cache_policy=NO_CACHE)(online.read_labels)
store_labels = task(name="store-labels", cache_policy=NO_CACHE)(online.store_labels)


def settings_for(service_url: str | None) -> Settings:
    """The settings, with the service a flow tells to reload when the caller names one."""
    settings = get_settings()
    return settings.model_copy(update={"service_url": service_url}) if service_url else settings


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


def ingest_before_retrain(labelled: Path, timed: Stopwatch) -> str:
    """Ingest the labelled batch a retrain is to see: validated and stored, or quarantined,
    which raises (and so stops the retrain)."""
    record = timed("ingest", ingestion_flow, source=labelled)
    return f"{record.status} as {record.batch_id}"


def retrain_champion(
    settings: Settings, champion: registry.ModelVersion, timed: Stopwatch, ingested: str | None
) -> tuple[dict[str, Any], str | None]:
    """Fit the champion's candidate (or settings' `retrain_model_name`) on every validated batch
    through the gate, and tell the service to reload when it was promoted. What was retrained
    (with `ingested`, the batch ingested for it), and what the service said."""
    candidate = settings.retrain_model_name or registry.candidate_of(champion)
    trained = timed("retrain", training_flow, model_name=candidate)
    # The retrain's own work counts as work: fitting and scoring inside the subflow.
    timed.seconds |= {f"retrain.{k}": v for k, v in trained.seconds.items()}
    service = None
    if trained.decision.promote:
        service = reload_service(settings)
    retrained = {
        "version": trained.registered.version,
        "model_name": candidate,
        "promoted": trained.decision.promote and not trained.decision.trial,
        "trial": trained.decision.trial,
        "summary": trained.decision.summary(),
        "batch": ingested,
    }
    return retrained, service


@task(name="join-labels", cache_policy=NO_CACHE)
def join_all(
    settings: Settings, arrived: pd.DataFrame, contract: DataContract, window: timedelta
) -> tuple[pd.DataFrame, pd.DataFrame, online.JoinCounts, list[str]]:
    """The whole prediction log, every stored label joined to it, what became of the labels
    that just arrived, and the log lines that are not records."""
    predictions, _, skipped = windows.prediction_log_window(settings.prediction_log, 0)
    _, counts = online.join_labels(predictions, arrived, contract, window)
    every = online.stored_labels(settings.labels_dir, contract)
    joined, _ = online.join_labels(predictions, every, contract, window)
    return predictions, joined, counts, skipped


@task(name="update-online-dashboard", cache_policy=NO_CACHE)
def update_dashboard(
    settings: Settings,
    contract: DataContract,
    joined: pd.DataFrame,
    measured: list[online.OnlineWindow],
    minutes: int,
) -> dict[tuple[str, str], str]:
    """A dashboard snapshot for each window whose labels changed since the last run (replacing
    the window's earlier one); the snapshot id of every window."""
    before = online.read_online_metrics(settings.online_metrics_file)
    ids = {key: row["snapshot_id"] for key, row in before.items() if row.get("snapshot_id")}
    changed = [w for w in measured if before.get(w.key, {}).get("labelled") != w.labelled]
    snapshots = {}
    for window in changed:
        rows = online.window_rows(joined, window, minutes)
        columns = [c for c in (*contract.column_names, drift.SCORE_COLUMN) if c in rows.columns]
        snapshots[window.key] = drift.quality_snapshot(
            windows.with_labels(rows[columns], contract),
            contract,
            datetime.fromisoformat(window.start),
            [workspace.ONLINE_TAG, workspace.version_tag(window.model_version)],
        )
    versions = sorted({w.model_version for w in measured}, key=_version_order)
    added = workspace.replace_online_snapshots(
        settings.evidently_workspace,
        settings.registered_model_name,
        contract,
        {f"{version}@{start}": run for (version, start), run in snapshots.items()},
        [ids[key] for key in snapshots if key in ids],
        versions,
    )
    return ids | {key: added[f"{key[0]}@{key[1]}"] for key in snapshots}


def _version_order(version: str) -> tuple[int, str]:
    return (int(version), version) if version.isdigit() else (0, version)


@flow(
    name="labels",
    persist_result=True,  # read back by `deployments.run_deployed`
)
def labels_flow(
    source: Path, retrain: bool = True, service_url: str | None = None
) -> online.LabelsOutcome:
    """Labels that arrived (`source`: the record id and the target, optionally `labelled_at`)
    joined to the predictions they are the outcome of; online metrics per model version and
    time window; step 1's online thresholds judged on the champion: an alert, or (unless
    `retrain` is False) a retrain on its labelled traffic, then the service at `service_url`
    (default: settings) is told to reload."""
    settings = settings_for(service_url)
    requirements = load_requirements(settings.requirements_file)
    contract = load_contract(settings.contract_file)
    rules = requirements.online_metrics
    logger = get_run_logger()
    timed = Stopwatch("labels")

    arrived = timed("read_labels", read_labels, source, contract, datetime.now(UTC))
    stored = timed("store_labels", store_labels, arrived, settings.labels_dir)
    window = timedelta(hours=rules.label_window_hours)
    predictions, joined, counts, skipped = timed(
        "join", join_all, settings, arrived, contract, window
    )
    if skipped:
        logger.warning("skipped %d prediction-log lines that are not JSON records", len(skipped))
    measured = timed(
        "measure",
        online.online_windows,
        predictions,
        joined,
        contract,
        requirements.offline_metrics,
        rules.window_minutes,
    )
    snapshot_ids = timed(
        "add_to_dashboard", update_dashboard, settings, contract, joined, measured,
        rules.window_minutes,
    )  # fmt: skip
    table = online.write_online_metrics(settings.online_metrics_file, measured, snapshot_ids)

    registry.configure_tracking(settings)
    champion = registry.version_by_alias(settings.registered_model_name, registry.CHAMPION)
    verdict = online.judge(measured, champion.version if champion else "", rules)
    outcome = online.LabelsOutcome(
        source=str(source),
        stored=str(stored),
        counts=counts,
        champion=champion.version if champion else None,
        windows=measured,
        action=verdict.action,
        judged=verdict.window,
        failures=verdict.failures,
        metrics_file=str(table),
        watched=list(dict.fromkeys([requirements.offline_metrics.primary, *rules.thresholds])),
        seconds=timed.seconds,
    )
    if verdict.action in ("alert", "retrain"):
        details: dict[str, Any] = {"failures": verdict.failures}
        if verdict.window is not None:
            details["window"] = verdict.window.to_record()
        steps.send_alert(outcome.headline(), details, settings, kind="online metrics")
    if verdict.action == "retrain" and retrain and champion is not None:
        batch = online.labelled_batch(joined, contract, champion.version)
        missing = online.missing_from_batch(batch, contract)
        if missing:  # the retrain needs whole batches: say what the labels must carry
            outcome = replace(
                outcome,
                retrained={
                    "summary": f"not retrained: the labelled traffic has no {', '.join(missing)} "
                    "(the service never sees it: send it with the labels)"
                },
            )
            online.record(outcome, settings.labels_log)
            logger.warning(outcome.headline())
            return outcome
        path = settings.labelled_dir / f"{Path(stored).stem}-v{champion.version}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        batch.to_parquet(path, index=False)
        try:
            ingested = ingest_before_retrain(path, timed)
        except Exception:
            failed = {"summary": "not retrained: the labelled traffic could not be ingested"}
            online.record(replace(outcome, retrained=failed), settings.labels_log)
            raise
        retrained, service = retrain_champion(settings, champion, timed, ingested)
        outcome = replace(outcome, retrained=retrained, service=service, seconds=timed.seconds)
    online.record(outcome, settings.labels_log)
    logger.info(outcome.headline())
    return outcome


@flow(
    name="experiment",
    persist_result=True,  # read back by `deployments.run_deployed`
)
def experiment_flow(
    decide: bool = True, service_url: str | None = None
) -> experiment.ExperimentOutcome:
    """Analyse the trial (an A/B test or shadow) on the labels that arrived: the business
    metric per arm with its interval, and step 1's decision. With `decide`, a promotion makes
    the version on trial the champion and a roll-back takes it off the traffic; then the
    service at `service_url` (default: settings) is told to reload."""
    settings = settings_for(service_url)
    requirements = load_requirements(settings.requirements_file)
    contract = load_contract(settings.contract_file)
    rules = requirements.experiment
    registry.configure_tracking(settings)
    name = settings.registered_model_name
    champion = registry.version_by_alias(name, registry.CHAMPION)
    trial = registry.version_by_alias(name, registry.TRIAL)
    if champion is None or trial is None or rules.rollout == "direct":
        raise experiment.NoTrialError(
            "no version is on trial: a version goes on trial when it passes the gate and step 1's "
            "`experiment.rollout` is ab or shadow (it is "
            f"{rules.rollout}; the trial alias is {'set' if trial else 'not set'})"
        )
    window = timedelta(hours=requirements.online_metrics.label_window_hours)
    predictions, _, _ = windows.prediction_log_window(settings.prediction_log, 0)
    labels = online.stored_labels(settings.labels_dir, contract)
    joined, _ = online.join_labels(predictions, labels, contract, window)
    rows = experiment.trial_rows(joined, champion.version, trial.version, rules.rollout)
    analysis = experiment.analyse(
        rows, contract, requirements.offline_metrics, rules, rules.rollout, settings.seed
    )
    report = experiment.write_report(analysis, settings.experiment_reports_dir, trial.version)
    acted = "nothing changed: the champion keeps serving beside the trial"
    if decide and analysis.decision in ("promote", "roll_back"):
        promote = analysis.decision == "promote"
        registry.end_trial(trial, promote, analysis.headline())
        done = (
            f"v{trial.version} is the champion"
            if promote
            else f"v{trial.version} is off the traffic"
        )
        acted = f"{done}; service: {reload_service(settings)}"
    outcome = experiment.ExperimentOutcome(analysis, trial.version, str(report), acted)
    get_run_logger().info(outcome.headline())
    return outcome
