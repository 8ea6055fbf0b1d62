"""The training flow: Prefect wiring over the plain functions of this step.

load validated data -> split by time -> fit -> evaluate -> compile the scoring path and check it
on the holdout -> score the champion on the same holdout -> decide -> log and register -> move
aliases (last, so a crash changes nothing).
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from sklearn.pipeline import Pipeline

from ..contract import DataContract, load_contract
from ..data.validated import TrainingData, load_validated
from ..modeling import chosen_model, fit_model, predict_scores
from ..requirements import OfflineMetrics, load_requirements
from ..settings import Settings, get_settings
from ..stopwatch import Stopwatch
from . import dataset, registry, search, steps
from .evaluation import compare, evaluate
from .gate import decide_promotion
from .judging import Evaluation

# NO_CACHE everywhere: these tasks take DataFrames and models, which Prefect would hash.
load_training_data = task(name="load-validated-data", cache_policy=NO_CACHE)(load_validated)
split_data = task(name="split-by-time", cache_policy=NO_CACHE)(dataset.split_by_time)
fit = task(name="fit", cache_policy=NO_CACHE)(fit_model)
score_champion = task(name="score-champion", cache_policy=NO_CACHE)(steps.score_champion)
record_run = task(name="log-and-register", cache_policy=NO_CACHE)(steps.record_run)
move_aliases = task(name="move-aliases", cache_policy=NO_CACHE)(registry.move_aliases)
compare_with_champion = task(name="paired-bootstrap", cache_policy=NO_CACHE)(compare)
compile_and_check = task(name="compile-and-check", cache_policy=NO_CACHE)(steps.compile_and_check)
search_parameters = task(name="parameter-search", cache_policy=NO_CACHE)(search.search)


@task(name="point-in-time-features", cache_policy=NO_CACHE)
def point_in_time(data: TrainingData, contract: DataContract, settings: Settings) -> TrainingData:
    from ..data import feature_store

    # The offline store is rebuilt from the same validated batches first: a retrain right after
    # an ingestion (monitoring's) must not find rows the store has not seen.
    feature_store.load_offline(data.frame, contract, settings)
    return replace(data, frame=feature_store.point_in_time(data.frame, contract, settings))


@task(name="evaluate", cache_policy=NO_CACHE)
def evaluate_model(
    model: Pipeline, split: dataset.Split, contract: DataContract, offline: OfflineMetrics
) -> tuple[Evaluation, pd.Series | pd.DataFrame]:
    holdout = split.holdout
    scores = predict_scores(model, holdout, contract)
    evaluation = evaluate(
        holdout,
        split.holdout_labels,
        scores,
        contract.categorical_features,
        offline,
        split.holdout_groups,
    )
    return evaluation, scores


@flow(
    name="training",
    persist_result=True,  # read back by `deployments.run_deployed`
)
def training_flow(model_name: str | None = None) -> steps.TrainingOutcome:
    """Train candidate `model_name` (default: settings) on every validated batch and register
    it; promote it to champion only if it passes the gate. A failed gate completes the flow
    normally."""
    settings = get_settings()
    if model_name is not None:
        settings = settings.model_copy(update={"model_name": model_name})
    requirements = load_requirements(settings.requirements_file)
    contract = load_contract(settings.contract_file)
    offline = requirements.offline_metrics
    logger = get_run_logger()
    timed = Stopwatch("training")

    timed("connect_mlflow", registry.configure_tracking, settings)
    data = timed("load", load_training_data, settings.validated_dir, contract)
    if settings.uses_feature_store:  # the entity features as the store held them at each row
        data = timed("point_in_time", point_in_time, data, contract, settings)
    split = timed(
        "split",
        split_data,
        data.frame,
        contract,
        settings.holdout_fraction,
        settings.seed,
        data.batch_rows,
    )
    found, params = None, None
    if settings.search_trials:
        found = timed(
            "search",
            search_parameters,
            chosen_model(settings),
            split.train,
            contract,
            offline,
            settings.search_trials,
            settings.seed,
            settings.holdout_fraction,
            settings.dask_address,
        )
        logger.info(found.summary())
        params = found.best.params
    model = timed("fit", fit, chosen_model(settings), split.train, contract, settings.seed, params)
    evaluation, scores = timed("evaluate", evaluate_model, model, split, contract, offline)
    check = timed("compile", compile_and_check, model, split.holdout, scores)
    champion = timed("score_champion", score_champion, split, contract, settings, offline)
    comparison = None
    if champion is not None and champion.scores is not None:
        comparison = timed(
            "compare",
            compare_with_champion,
            split.holdout_labels,
            scores,
            champion.scores,
            offline,
            settings.seed,
            split.holdout_groups,
        )
    decision = decide_promotion(
        evaluation.metrics,
        champion.metrics if champion else None,
        offline,
        comparison,
        check.parity,
        champion_name=f"v{champion.version.version}" if champion else "",
    )
    # With a champion to compare against, step 1 may send a promoted version to a trial first.
    if decision.promote and champion is not None and requirements.experiment.rollout != "direct":
        decision = replace(decision, trial=requirements.experiment.rollout)
    version, report_dir = timed(
        "record",
        record_run,
        steps.TrainedRun(
            data=data,
            split=split,
            model=model,
            evaluation=evaluation,
            scores=scores,
            champion=champion,
            decision=decision,
            check=check,
            comparison=comparison,
            search=found,
        ),
        settings,
        requirements,
        contract,
    )
    timed("aliases", move_aliases, version, decision.promote, decision.trial is not None)
    outcome = steps.TrainingOutcome(
        registered=version,
        decision=decision,
        metrics=evaluation.metrics,
        champion=version.version
        if decision.promote and not decision.trial
        else (champion.version.version if champion else None),
        report_dir=str(report_dir),
        seconds=timed.seconds,
    )
    logger.info(outcome.summary())
    return outcome
