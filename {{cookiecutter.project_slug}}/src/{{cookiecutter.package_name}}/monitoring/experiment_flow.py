"""The experiment flow (Prefect): a trial (an A/B test or shadow) decided on the labels that
arrived, by step 1's rules (`experiment.py` holds the analysis); a promotion or a roll-back
moves the aliases, then the service is told to reload."""

from __future__ import annotations

from datetime import timedelta

from prefect import flow, get_run_logger

from ..contract import load_contract
from ..requirements import load_requirements
from ..training import registry
from . import experiment, online, windows
from .retrain import reload_service, settings_for


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
