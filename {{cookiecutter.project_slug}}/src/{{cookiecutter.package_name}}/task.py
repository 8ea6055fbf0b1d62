"""What the shared code of each step takes from the project's ML task, declared in one place.

A task (binary classification, regression, ranking, ...) is a set of files, one per step, each
named for its task in the template (`target.<task>.py`) and kept as `target.py` in the baked
project. Each file is a module that implements one protocol below; the rest of the package only
uses what these protocols name. A new task is a new set of files that satisfies them:
`tests/code/test_task.py` holds every file of the baked task to its protocol, statically (mypy,
in `make lint`) and by behaviour on the task's worked example, in the spirit of
scikit-learn's `check_estimator`.

This module imports nothing at run time: the types it names are only read by the type checker.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from pydantic import BaseModel
    from sklearn.pipeline import Pipeline

    from .contract import DataContract
    from .contract.prediction import PredictionShape, Scores
    from .requirements import OfflineMetrics
    from .settings import DriftKind
    from .training.bootstrap import PairedBootstrap
    from .training.judging import Evaluation


@runtime_checkable
class TargetRules(Protocol):
    """Step 2, `contract/target.py`: what the task needs of its target, and how it reads it."""

    # The task in words, as the contract's messages name it.
    @property
    def TASK(self) -> str: ...
    # What a served score is, for the API's documentation.
    @property
    def SCORE_DESCRIPTION(self) -> str: ...
    # What the model answers for a record: the fields every step reads (`prediction.py`).
    @property
    def PREDICTION(self) -> PredictionShape: ...
    # Whether a holdout without a time keeps the target's shares.
    @property
    def STRATIFY_HOLDOUT(self) -> bool: ...

    def check_target(self, contract: DataContract) -> None:
        """Raise ValueError unless the contract's target suits the task."""

    def encode_target(self, contract: DataContract, values: pd.Series) -> pd.Series:
        """The target as models are fitted and judged on it: numbers, one per row."""

    def output_meaning(self, contract: DataContract) -> str:
        """What a served score is, in words, for the model card."""

    def infer_target(
        self, values: pd.Series, positive: str | None
    ) -> tuple[dict[str, Any], str | None]:
        """`contract infer`: the target's contract entry, and a note for the reviewer."""

    def describe_target(self, contract: DataContract, frame: pd.DataFrame) -> str:
        """One line on the target of a table, for `contract infer`'s summary."""

    def starting_requirements(
        self, contract: DataContract, frame: pd.DataFrame
    ) -> tuple[dict[str, str], dict[str, Any], str]:
        """Step 1's goals, offline metrics and a comment, for a newly inferred table."""


@runtime_checkable
class TaskMetrics(Protocol):
    """Step 1, `requirements/metrics.py`: the offline metrics the task can be held to (the names
    themselves are its `MetricName` literal, which the conformance test reads)."""

    # The settings only this task's metrics have.
    @property
    def TaskOfflineMetrics(self) -> type[BaseModel]: ...


@runtime_checkable
class WorkedExample(Protocol):
    """Step 3, `data/synthetic.py`: the task's worked example, with its seeded drifts."""

    @property
    def DEFAULT_START(self) -> datetime: ...
    # What the rows are, in words.
    @property
    def WORKED_EXAMPLE(self) -> str: ...
    # The features a covariate drift moves.
    @property
    def COVARIATE_SHIFTED(self) -> tuple[str, ...]: ...

    def generate_batch(
        self, rows: int, seed: int = ..., drift: DriftKind = ..., start: datetime = ...
    ) -> pd.DataFrame:
        """`rows` rows of the worked example under its contract, seeded."""

    def expected_target(self, frame: pd.DataFrame) -> np.ndarray:
        """What the generator's own model expects of each row: the best score any model can
        learn, against which the conformance test checks that metrics reward the truth."""


@runtime_checkable
class Candidates(Protocol):
    """Step 4, `modeling/candidates.py`: the candidate pipelines and how they score."""

    @property
    def MODELS(self) -> dict[str, Callable[[DataContract, int], Pipeline]]: ...
    # The simple model every other candidate must beat.
    @property
    def BASELINE(self) -> str: ...
    # What `train` fits unless MLSD_MODEL_NAME names another.
    @property
    def DEFAULT_MODEL(self) -> str: ...
    @property
    def SEARCH_SPACES(self) -> dict[str, dict[str, list[object]]]: ...
    # The fitted model's method that scores (the registry logs it).
    @property
    def PREDICT_METHOD(self) -> str: ...
    # Packages a model needs beyond scikit-learn.
    @property
    def MODEL_PACKAGES(self) -> tuple[str, ...]: ...
    # Their types skops may load.
    @property
    def TRUSTED_TYPES(self) -> tuple[str, ...]: ...

    def predict_scores(
        self, model: Pipeline, frame: pd.DataFrame, contract: DataContract
    ) -> pd.Series | pd.DataFrame:
        """The model's output for each row of `frame`, aligned with its index: one score (a
        Series), or one column per class (a DataFrame)."""


@runtime_checkable
class Judging(Protocol):
    """Step 5, `training/evaluation.py`: the task's metrics on a holdout, the paired comparison
    the promotion gate judges, and what the model card shows."""

    # The model card's words when there is nothing to slice by.
    @property
    def NO_SLICES(self) -> str: ...
    # The diagnostic plots `write_plots` draws, in words.
    @property
    def PLOTS(self) -> str: ...

    def evaluate(
        self,
        frame: pd.DataFrame,
        labels: pd.Series,
        scores: pd.Series | pd.DataFrame,
        slice_columns: list[str],
        offline: OfflineMetrics,
        groups: np.ndarray | None = None,
    ) -> Evaluation:
        """Every metric and the task's slices (the skeleton is `training/judging.py`)."""

    def holdout_metrics(
        self,
        labels: np.ndarray | pd.Series,
        scores: Scores,
        offline: OfflineMetrics,
        groups: np.ndarray | None = None,
    ) -> dict[str, float]:
        """Every metric the task's `MetricName` lists."""

    def metric_value(
        self,
        name: str,
        labels: np.ndarray | pd.Series,
        scores: Scores,
        offline: OfflineMetrics,
        groups: np.ndarray | None = None,
    ) -> float:
        """One of `holdout_metrics`, alone (what a resampling loop computes many times)."""

    def resampled_metric(
        self, name: str, labels: np.ndarray, scores: np.ndarray, offline: OfflineMetrics
    ) -> Callable[[np.ndarray], float] | None:
        """A faster way to measure resamples given as counts per row, where the task has one."""

    def compare(
        self,
        labels: np.ndarray | pd.Series,
        challenger: Scores,
        champion: Scores,
        offline: OfflineMetrics,
        seed: int,
        groups: np.ndarray | None = None,
    ) -> PairedBootstrap:
        """The paired bootstrap of the primary metric, challenger minus champion."""

    def write_plots(
        self,
        labels: np.ndarray | pd.Series,
        scores: Scores,
        offline: OfflineMetrics,
        folder: Path,
        groups: np.ndarray | None = None,
    ) -> list[Path]: ...

    def card_notes(self, offline: OfflineMetrics) -> list[str]:
        """What the model card says of the task's metrics (e.g. the decision threshold)."""


@runtime_checkable
class TaskEndpoints(Protocol):
    """Step 6, `serving/endpoints.py`: the task's own paths beside /predict (none for a task
    that answers one score per record), which the service guards and documents."""

    @property
    def TASK_PATHS(self) -> tuple[str, ...]: ...
    @property
    def TASK_RESPONSES(self) -> dict[str, Any]: ...
    # The mixin of the service that adds them.
    @property
    def TaskEndpoints(self) -> type: ...


@runtime_checkable
class QualityChecks(Protocol):
    """Step 7, `monitoring/quality.py`: how Evidently judges the task's predictions and target."""

    # Evidently's drift test for the target and the prediction.
    @property
    def TARGET_TEST(self) -> str: ...
    @property
    def TARGET_IS_CATEGORY(self) -> bool: ...
    # Evidently's metrics the report reads where labels exist.
    @property
    def QUALITY_METRICS(self) -> frozenset[str]: ...
    # The dashboard's quality panel.
    @property
    def DASHBOARD_METRIC(self) -> tuple[str, str, dict[str, str]]: ...

    def task_definition(self, contract: DataContract, score: str) -> dict[str, Any]:
        """Evidently's data definition of the task (its columns' roles)."""

    def quality_preset(self) -> list[Any]: ...

    def read_metric(self, value: Any) -> float: ...

    def for_quality(self, frame: pd.DataFrame, contract: DataContract) -> pd.DataFrame:
        """A scored window as the task's Evidently mapping reads it (e.g. a predicted class
        encoded as the target is)."""
