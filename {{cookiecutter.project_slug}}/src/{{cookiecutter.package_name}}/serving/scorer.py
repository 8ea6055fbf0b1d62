"""The scoring core, independent of any web framework: the champion model, request records in,
predictions out, every prediction logged.

The BentoML service wraps it. Batch scoring (`batch.py`) and training (to score the champion on
a new holdout) share `load_scoring_model`: a version's compiled scoring path when it has one
(`compiled.py`), else its scikit-learn pipeline.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TextIO

import numpy as np
import pandas as pd

from ..contract import DataContract, load_contract
from ..data.batches import jsonl_lines
from ..data.feature_store import OnlineFeatures
from ..errors import ExpectedError
from ..modeling import predict_scores
from ..requirements import load_requirements
from ..settings import ScoringPath, Settings
from ..training import registry
from .compiled import Rows
from .schemas import Prediction, Record, json_rows
from .split import CHALLENGER_ARM, CHAMPION_ARM, SHADOW_ARM, in_challenger_arm

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

logger = logging.getLogger(__name__)


class NoChampionError(ExpectedError):
    """The registry has no champion yet: nothing can be scored."""


NO_CHAMPION = "no champion model in the registry yet: train one (the `train` command)"


class ScoringModel(Protocol):
    """What scores rows, compiled or not: the task's score for each row, in row order."""

    @property
    def description(self) -> str: ...

    def score_rows(self, rows: Rows) -> np.ndarray: ...

    def score_frame(self, frame: pd.DataFrame) -> np.ndarray: ...


class PipelineModel:
    """The registered scikit-learn pipeline: the source of truth, and the fallback."""

    description = "scikit-learn pipeline"

    def __init__(self, pipeline: Pipeline, contract: DataContract) -> None:
        self.pipeline = pipeline
        self.contract = contract

    def score_rows(self, rows: Rows) -> np.ndarray:
        return self.score_frame(pd.DataFrame(list(rows)))

    def score_frame(self, frame: pd.DataFrame) -> np.ndarray:
        return predict_scores(self.pipeline, frame, self.contract).to_numpy()


def load_scoring_model(
    version: registry.ModelVersion, contract: DataContract, scoring_path: ScoringPath
) -> ScoringModel:
    """How `version` scores: its compiled path unless it has none (or `scoring_path` says
    "pipeline"), else its pipeline. Says once, when it loads, which one and why."""
    label = f"{version.name} v{version.version}"
    if scoring_path == "compiled" and version.compiled:
        try:
            compiled = registry.load_compiled(version)
        except registry.ModelLoadError as error:
            logger.warning("%s; scoring with its scikit-learn pipeline instead", error)
        else:
            logger.info("%s scores with its compiled path (%s)", label, compiled.description)
            return compiled
    elif scoring_path == "compiled":
        logger.warning(
            "%s has no compiled scoring path (%s): scoring with its scikit-learn pipeline",
            label,
            version.compiled_note or "trained before compiled paths existed",
        )
    return PipelineModel(registry.load_model(version), contract)


# The scoring models a process loaded with `loaded_once`, by tracking URI, version and path.
_LOADED: dict[tuple[str, str, str, ScoringPath], ScoringModel] = {}


def loaded_once(
    version: registry.ModelVersion,
    contract: DataContract,
    scoring_path: ScoringPath,
    tracking_uri: str,
) -> ScoringModel:
    """`load_scoring_model` from the registry at `tracking_uri`, once per process: for a Dask
    worker, which scores many partitions with the same version and has no settings of its
    own."""
    key = (tracking_uri, version.name, version.version, scoring_path)
    model = _LOADED.get(key)
    if model is None:
        import mlflow

        mlflow.set_tracking_uri(tracking_uri)
        model = _LOADED[key] = load_scoring_model(version, contract, scoring_path)
    return model


@dataclass(frozen=True)
class LoadedModel:
    version: registry.ModelVersion
    model: ScoringModel
    loaded_at: str


class PredictionLog:
    """Append-only JSON Lines: one line per scored record. Monitoring (step 7) reads it.

    The file stays open between requests (opening it cost more than the compiled model call);
    one `stat` per write notices the file was moved or deleted (rotated, cleaned) and reopens
    it, as logging's WatchedFileHandler does."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()  # one write per batch, never interleaved across threads
        self._file: TextIO | None = None

    def append(self, rows: list[dict[str, Any]]) -> None:
        lines = jsonl_lines(rows)
        with self._lock:
            log = self._open()
            log.write(lines)
            log.flush()  # a line is on disk when its answer leaves

    def _open(self) -> TextIO:
        if self._file is not None:
            try:
                if self.path.stat().st_ino == os.fstat(self._file.fileno()).st_ino:
                    return self._file
            except FileNotFoundError:
                pass
            self._file.close()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("a", encoding="utf-8")
        return self._file


@dataclass(frozen=True)
class Scored:
    """Scores of request rows, in row order, and which model and arm gave each."""

    scores: np.ndarray
    versions: list[str]
    arms: list[str]


class Scorer:
    def __init__(self, settings: Settings, contract: DataContract) -> None:
        self.settings = settings
        self.contract = contract
        self.log = PredictionLog(settings.prediction_log)
        self._id_column = contract.id_column
        # An A/B test keeps a key in one arm: a ranking's query (all its candidates), else
        # the record.
        self._split_column = contract.group_column or contract.id_column
        self.rollout = load_requirements(settings.requirements_file).experiment.rollout
        self._loaded: LoadedModel | None = None
        self._trial: LoadedModel | None = None  # the version on trial, in an A/B test or shadow
        self._reload_lock = threading.Lock()
        self._checked_at = 0.0
        # With a feature store, requests carry entity keys and their features come from it.
        self.features: OnlineFeatures | None = None
        if settings.uses_feature_store:
            self.features = OnlineFeatures(contract, settings)
        # Why nothing is loaded, while nothing is: said in the 503 and the log.
        self._problem = NO_CHAMPION

    @classmethod
    def from_settings(cls, settings: Settings) -> Scorer:
        return cls(settings, load_contract(settings.contract_file))

    @property
    def loaded(self) -> LoadedModel | None:
        return self._loaded

    @property
    def trial(self) -> LoadedModel | None:
        return self._trial

    def unavailable(self) -> str | None:
        """Why nothing can be scored, or None once a model is loaded."""
        return None if self._loaded is not None else self._problem

    def refresh(self) -> bool:
        """Load the registry's current champion (and the version on trial, when step 1 rolls
        out by experiment) if they are not the ones in memory. Returns whether a model changed.
        Each swap is one assignment, so requests in flight finish on the models they started
        with."""
        with self._reload_lock:
            self._checked_at = time.monotonic()
            if self.features is not None:
                self.features.reload()
            registry.connect(self.settings)
            name = self.settings.registered_model_name
            champion = registry.version_by_alias(name, registry.CHAMPION)
            if champion is None:
                self._problem = NO_CHAMPION
                return False
            changed = False
            if not (self._loaded and self._loaded.version == champion):
                self._loaded = self._load(champion)  # a model in memory keeps serving on error
                logger.info("serving %s v%s", champion.name, champion.version)
                changed = True
            on_trial = None
            if self.rollout != "direct":
                on_trial = registry.version_by_alias(name, registry.TRIAL)
            if on_trial is not None and on_trial == champion:
                on_trial = None  # promoted, and the trial alias not yet moved
            if on_trial is None:
                changed |= self._trial is not None
                self._trial = None
            elif not (self._trial and self._trial.version == on_trial):
                self._trial = self._load(on_trial)
                logger.info("v%s on trial (%s)", on_trial.version, self.rollout)
                changed = True
            return changed

    def _load(self, version: registry.ModelVersion) -> LoadedModel:
        try:
            model = load_scoring_model(version, self.contract, self.settings.scoring_path)
        except registry.ModelLoadError as error:
            self._problem = str(error)
            raise
        return LoadedModel(
            version=version, model=model, loaded_at=datetime.now(UTC).isoformat(timespec="seconds")
        )

    def refresh_if_due(self) -> None:
        interval = self.settings.champion_check_seconds
        if interval and time.monotonic() - self._checked_at >= interval:
            try:
                self.refresh()
            except Exception:  # a registry outage must not stop serving the model in memory
                logger.exception("could not check the registry for a new champion")

    def score(self, records: Sequence[Record]) -> list[Prediction]:
        # Dumped once, in JSON form: the frame for the model and the lines for the log.
        rows = json_rows(records)
        scored = self.score_rows(rows)
        return [
            Prediction(
                score=float(score), model_version=version, record_id=self.record_id(row), arm=arm
            )
            for row, score, version, arm in zip(
                rows, scored.scores, scored.versions, scored.arms, strict=True
            )
        ]

    def record_id(self, row: dict[str, Any]) -> str | None:
        """A row's id as a response gives it: text (a contract's id may be an int)."""
        value = row.get(self._id_column) if self._id_column else None
        return None if value is None else str(value)

    def split_key(self, row: dict[str, Any]) -> str | None:
        value = row.get(self._split_column) if self._split_column else None
        return None if value is None else str(value)

    def score_rows(self, rows: list[dict[str, Any]]) -> Scored:
        """Score request rows (in JSON form) and log each with its score, model version and arm.
        With no trial, the champion scores them all; in an A/B test each row's key picks its
        model; in shadow the champion answers and the model on trial scores them too (logged
        as the shadow arm, never answered)."""
        loaded, trial = self._loaded, self._trial
        if loaded is None:
            raise NoChampionError(self._problem)
        started = time.perf_counter()
        if self.features is not None:  # inside the latency: the lookup is part of the answer
            rows = self.features.lookup(rows)
        if trial is None or self.rollout == "shadow":
            scores = loaded.model.score_rows(rows)
            scored = Scored(
                scores, [loaded.version.version] * len(rows), [CHAMPION_ARM] * len(rows)
            )
        else:
            share = self.settings.challenger_share
            challenged = np.array([in_challenger_arm(self.split_key(r), share) for r in rows])
            scores = np.empty(len(rows), dtype=float)
            for model, chosen in ((loaded, ~challenged), (trial, challenged)):
                if chosen.any():
                    picked = [rows[i] for i in np.flatnonzero(chosen)]
                    scores[chosen] = model.model.score_rows(picked)
            scored = Scored(
                scores,
                [(trial if c else loaded).version.version for c in challenged],
                [CHALLENGER_ARM if c else CHAMPION_ARM for c in challenged],
            )
        latency_ms = round((time.perf_counter() - started) * 1000, 3)
        logged: dict[str, Any] = {"latency_ms": latency_ms, "batch_rows": len(rows)}
        logged["logged_at"] = datetime.now(UTC).isoformat()
        lines = log_lines(rows, scored, logged)
        if trial is not None and self.rollout == "shadow":
            shadow = trial.model.score_rows(rows)  # after the answer's latency was taken
            version = trial.version.version
            lines += log_lines(
                rows, Scored(shadow, [version] * len(rows), [SHADOW_ARM] * len(rows)), logged
            )
        self.log.append(lines)
        return scored


def log_lines(
    rows: list[dict[str, Any]], scored: Scored, logged: dict[str, Any]
) -> list[dict[str, Any]]:
    """A prediction-log line per row: the record as it was scored, its score, model version
    and arm, and what the request shares (`logged`: latency, size, time)."""
    return [
        row | {"score": float(score), "model_version": version, "arm": arm} | logged
        for row, score, version, arm in zip(
            rows, scored.scores, scored.versions, scored.arms, strict=True
        )
    ]
