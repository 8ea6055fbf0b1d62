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
from ..errors import ExpectedError
from ..modeling import predict_scores
from ..settings import ScoringPath, Settings
from ..training import registry
from .compiled import Rows
from .schemas import Prediction, Record, json_rows

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


class Scorer:
    def __init__(self, settings: Settings, contract: DataContract) -> None:
        self.settings = settings
        self.contract = contract
        self.log = PredictionLog(settings.prediction_log)
        self._id_column = contract.id_column
        self._loaded: LoadedModel | None = None
        self._reload_lock = threading.Lock()
        self._checked_at = 0.0
        # Why nothing is loaded, while nothing is: said in the 503 and the log.
        self._problem = NO_CHAMPION

    @classmethod
    def from_settings(cls, settings: Settings) -> Scorer:
        return cls(settings, load_contract(settings.contract_file))

    @property
    def loaded(self) -> LoadedModel | None:
        return self._loaded

    def unavailable(self) -> str | None:
        """Why nothing can be scored, or None once a model is loaded."""
        return None if self._loaded is not None else self._problem

    def refresh(self) -> bool:
        """Load the registry's current champion if it is not the one in memory. Returns whether
        the model changed. The swap is one assignment, so requests in flight finish on the model
        they started with."""
        with self._reload_lock:
            self._checked_at = time.monotonic()
            registry.connect(self.settings)
            champion = registry.version_by_alias(
                self.settings.registered_model_name, registry.CHAMPION
            )
            if champion is None:
                self._problem = NO_CHAMPION
                return False
            if self._loaded and self._loaded.version == champion:
                return False
            try:
                model = load_scoring_model(champion, self.contract, self.settings.scoring_path)
            except registry.ModelLoadError as error:  # a model in memory keeps serving
                self._problem = str(error)
                raise
            self._loaded = LoadedModel(
                version=champion,
                model=model,
                loaded_at=datetime.now(UTC).isoformat(timespec="seconds"),
            )
            logger.info("serving %s v%s", champion.name, champion.version)
            return True

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
        scores, version = self.score_rows(rows)
        return [
            Prediction(score=float(score), model_version=version, record_id=self.record_id(row))
            for row, score in zip(rows, scores, strict=True)
        ]

    def record_id(self, row: dict[str, Any]) -> str | None:
        """A row's id as a response gives it: text (a contract's id may be an int)."""
        value = row.get(self._id_column) if self._id_column else None
        return None if value is None else str(value)

    def score_rows(self, rows: list[dict[str, Any]]) -> tuple[np.ndarray, str]:
        """Score request rows (in JSON form) with the model in memory and log each with its
        score; the scores, in row order, and the model version that gave them."""
        loaded = self._loaded
        if loaded is None:
            raise NoChampionError(self._problem)
        started = time.perf_counter()
        scores = loaded.model.score_rows(rows)
        latency_ms = round((time.perf_counter() - started) * 1000, 3)
        version = loaded.version.version
        logged_at = datetime.now(UTC).isoformat()
        self.log.append(
            [
                row
                | {
                    "score": float(score),
                    "model_version": version,
                    "latency_ms": latency_ms,
                    "batch_rows": len(rows),
                    "logged_at": logged_at,
                }
                for row, score in zip(rows, scores, strict=True)
            ]
        )
        return scores, version
