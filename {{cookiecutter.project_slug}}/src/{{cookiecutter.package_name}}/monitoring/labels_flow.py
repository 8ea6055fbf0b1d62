"""The labels flow (Prefect): labels that arrived later than the predictions are joined to the
prediction log, online metrics are measured per model version and time window (`online.py`)
and shown on the dashboard, and step 1's `online_metrics` thresholds act like drift's: an
alert, or a retrain on the labelled traffic (`retrain.py`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from ..contract import DataContract, load_contract
from ..requirements import load_requirements
from ..settings import Settings
from ..stopwatch import Stopwatch
from ..training import registry
from . import drift, online, steps, windows, workspace
from .retrain import ingest_before_retrain, retrain_champion, settings_for

read_labels = task(name="read-labels", cache_policy=NO_CACHE)(online.read_labels)
store_labels = task(name="store-labels", cache_policy=NO_CACHE)(online.store_labels)


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
        columns = [
            c for c in (*contract.column_names, *contract.prediction.fields) if c in rows.columns
        ]
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
