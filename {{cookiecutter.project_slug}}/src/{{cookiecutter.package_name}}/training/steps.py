"""The training steps that combine modules: scoring the champion, recording a run.

Plain functions; `flow.py` only wires them into Prefect tasks.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args

import pandas as pd
from sklearn.pipeline import Pipeline

from ..contract import DataContract
from ..contract.prediction import as_scores
from ..data.validated import TrainingData
from ..modeling import chosen_model, feature_frame
from ..modeling.compiled import (
    PARITY_TOLERANCE,
    CompiledModel,
    NotCompilableError,
    Parity,
    compile_pipeline,
    parity,
)
from ..requirements import MetricName, OfflineMetrics, SystemRequirements
from ..settings import Settings
from . import registry
from .bootstrap import PairedBootstrap
from .dataset import Split
from .evaluation import holdout_metrics, write_plots
from .gate import PromotionDecision
from .judging import Evaluation, slices_table
from .model_card import CardFacts, render_model_card
from .scoring import load_scoring_model
from .search import SearchResult

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChampionScore:
    version: registry.ModelVersion
    metrics: dict[str, float]
    error: str | None = None
    # Its scores on the holdout, for the paired comparison (None when it could not score).
    scores: pd.Series | pd.DataFrame | None = field(default=None, repr=False, compare=False)

    def facts(self) -> dict[str, object]:
        return {"version": asdict(self.version), "metrics": self.metrics, "error": self.error}


@dataclass(frozen=True)
class TrainingOutcome:
    registered: registry.ModelVersion
    decision: PromotionDecision
    metrics: dict[str, float]
    champion: str | None  # the champion version after this run
    report_dir: str
    seconds: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        return (
            f"{self.registered.name} v{self.registered.version} (run {self.registered.run_id}) "
            f"{self.decision.summary()}. Champion: "
            f"{'v' + self.champion if self.champion else 'none'}. Report: {self.report_dir}"
        )


@dataclass(frozen=True)
class CompiledCheck:
    """The new model's compiled scoring path and its parity with the pipeline on the holdout,
    or why it has none."""

    compiled: CompiledModel | None
    parity: Parity | None = None
    reason: str | None = None  # why there is no compiled path

    @property
    def servable(self) -> CompiledModel | None:
        """The compiled path to log with the version: only one that agrees with the pipeline."""
        return self.compiled if self.parity is not None and self.parity.agrees else None

    def summary(self) -> str:
        if self.compiled is None or self.parity is None:
            return f"its scikit-learn pipeline (no compiled path: {self.reason})"
        difference = (
            f"largest difference from the pipeline {self.parity.max_abs_diff:.2g} on the "
            f"{self.parity.rows:,} holdout rows (at most {PARITY_TOLERANCE:g})"
        )
        if self.parity.agrees:
            return f"compiled ({self.compiled.description}), {difference}"
        return (
            f"its scikit-learn pipeline: the compiled path ({self.compiled.description}) "
            f"disagrees, {difference}"
        )

    def tags(self) -> dict[str, str]:
        path = "compiled" if self.servable is not None else "pipeline"
        return {registry.SCORING_PATH_TAG: path, registry.SCORING_NOTE_TAG: self.summary()}


def compile_and_check(
    model: Pipeline, holdout: pd.DataFrame, scores: pd.Series | pd.DataFrame
) -> CompiledCheck:
    """Compile `model` and score the holdout with it: `scores` are the pipeline's own."""
    try:
        compiled = compile_pipeline(model)
    except NotCompilableError as error:
        logger.info("no compiled scoring path: %s", error)
        return CompiledCheck(compiled=None, reason=str(error))
    return CompiledCheck(compiled=compiled, parity=parity(compiled, holdout, scores.to_numpy()))


def score_champion(
    split: Split, contract: DataContract, settings: Settings, offline: OfflineMetrics
) -> ChampionScore | None:
    """The current champion's metrics on this run's holdout, or None when there is none.
    A champion that cannot score the holdout gets NaN metrics and the reason."""
    current = registry.version_by_alias(settings.registered_model_name, registry.CHAMPION)
    if current is None:
        return None
    try:
        model = load_scoring_model(current, contract, settings.scoring_path)
        scores = as_scores(model.score_frame(split.holdout), split.holdout.index)
    except Exception as error:  # any failure to load or score disqualifies the old model
        logger.warning("champion v%s cannot score the holdout: %s", current.version, error)
        unmeasured = dict.fromkeys(get_args(MetricName), math.nan)
        return ChampionScore(version=current, metrics=unmeasured, error=str(error))
    return ChampionScore(
        version=current,
        metrics=holdout_metrics(split.holdout_labels, scores, offline, split.holdout_groups),
        scores=scores,
    )


@dataclass(frozen=True)
class TrainedRun:
    """What one training run produced, ready to be recorded: the data it saw and how it was
    split, the fitted model and its evaluation, and how it fared against the champion."""

    data: TrainingData
    split: Split
    model: Pipeline
    evaluation: Evaluation
    scores: pd.Series | pd.DataFrame  # the model's output on the holdout
    champion: ChampionScore | None
    decision: PromotionDecision
    check: CompiledCheck
    comparison: PairedBootstrap | None = None
    search: SearchResult | None = None


def run_summary(
    run: TrainedRun, settings: Settings, requirements: SystemRequirements
) -> dict[str, Any]:
    """The run's `metrics.json`: what was trained on what, how it scored and what was decided."""
    offline = requirements.offline_metrics
    return {
        "model_name": chosen_model(settings),
        "data_version": run.data.data_version,
        "batches": run.data.batches,
        "split": run.split.method,
        "metrics": run.evaluation.metrics,
        "threshold_failures": offline.failures(run.evaluation.metrics),
        "champion": run.champion.facts() if run.champion else None,
        "decision": asdict(run.decision),
        "scoring_path": run.check.summary(),
        "comparison": asdict(run.comparison) if run.comparison else None,
        "slices": slices_table(run.evaluation.slices),
        **(
            {
                "classes": slices_table(run.evaluation.classes),
                "confusion": run.evaluation.confusion,
            }
            if run.evaluation.classes
            else {}
        ),
        "search": asdict(run.search) | {"best": run.search.best.params} if run.search else None,
    }


def run_params(run: TrainedRun, settings: Settings, contract: DataContract) -> dict[str, Any]:
    """The MLflow run's parameters: the estimator's own, and how the run was set up."""
    estimator = run.model.steps[-1][1]
    params = {f"model.{key}": value for key, value in estimator.get_params().items()}
    return params | {
        "model_name": chosen_model(settings),
        "seed": settings.seed,
        "holdout_fraction": settings.holdout_fraction,
        "split": run.split.method,
        "train_rows": len(run.split.train),
        "holdout_rows": len(run.split.holdout),
        "data_version": run.data.data_version,
        "batches": len(run.data.batches),
        "contract": f"{contract.name}_v{contract.version}",
        "search_trials": len(run.search.trials) if run.search else 0,
    }


def run_metrics(run: TrainedRun) -> dict[str, float]:
    """The MLflow run's metrics: the model's, the champion's on the same holdout, the gate's
    interval and the compiled path's largest difference from the pipeline."""
    metrics = dict(run.evaluation.metrics)
    if run.champion is not None:
        metrics |= {f"champion_{name}": value for name, value in run.champion.metrics.items()}
    if run.comparison is not None:
        metrics |= {
            "gate_improvement": run.comparison.difference,
            "gate_interval_low": run.comparison.low,
            "gate_interval_high": run.comparison.high,
        }
    if run.check.parity is not None:
        metrics["compiled_max_abs_diff"] = run.check.parity.max_abs_diff
    return metrics


def version_tags(run: TrainedRun) -> dict[str, str]:
    """The registered version's tags: its data, the gate's verdict and its scoring path."""
    decision = run.decision
    return {
        "data_version": run.data.data_version,
        registry.GATE_TAG: registry.GATE_PASSED if decision.promote else registry.GATE_FAILED,
        "gate_reasons": "; ".join(decision.reasons),
        "gate_decision": decision.headline,
        **run.check.tags(),
    }


def card_facts(
    run: TrainedRun,
    version: registry.ModelVersion,
    settings: Settings,
    contract: DataContract,
    started: datetime,
) -> CardFacts:
    champion = run.champion
    return CardFacts(
        model_label=version.label,
        model_name=chosen_model(settings),
        run_id=version.run_id,
        trained_at=started.isoformat(timespec="seconds"),
        data_version=run.data.data_version,
        batches=len(run.data.batches),
        train_rows=len(run.split.train),
        holdout_rows=len(run.split.holdout),
        split=run.split.method,
        metrics=run.evaluation.metrics,
        champion_metrics=champion.metrics if champion else None,
        champion_label=f"v{champion.version.version}" if champion else None,
        slices=slices_table(run.evaluation.slices),
        classes=slices_table(run.evaluation.classes),
        confusion=run.evaluation.confusion,
        decision=run.decision,
        scoring=run.check.summary(),
        time_split=contract.timestamp_column is not None,
    )


def record_run(
    run: TrainedRun, settings: Settings, requirements: SystemRequirements, contract: DataContract
) -> tuple[registry.ModelVersion, Path]:
    """Write the run's report folder, log it and the model to MLflow as a new registered
    version, and attach the model card. Aliases are not touched here."""
    started = datetime.now(UTC)
    run_name = f"{started:%Y%m%dT%H%M%SZ}-{chosen_model(settings)}"
    report_dir = settings.training_reports_dir / run_name
    split = run.split
    offline = requirements.offline_metrics
    write_plots(split.holdout_labels, run.scores, offline, report_dir, split.holdout_groups)
    summary = run_summary(run, settings, requirements)
    (report_dir / "metrics.json").write_text(json.dumps(summary, indent=2, default=str))
    tags = version_tags(run)
    version = registry.log_training_run(
        settings=settings,
        run_name=run_name,
        model=run.model,
        example=feature_frame(split.holdout.head(5), contract),
        params=run_params(run, settings, contract),
        metrics=run_metrics(run),
        tags=tags,
        artifacts_dir=report_dir,
        compiled=run.check.servable,
    )
    card = render_model_card(
        card_facts(run, version, settings, contract, started), requirements, contract
    )
    (report_dir / "model_card.md").write_text(card)
    registry.describe_version(version, card, tags)
    return version, report_dir
