"""The scoring core, independent of any web framework: the champion model, request records in,
predictions out, every prediction logged.

The BentoML service wraps it. Batch scoring (`batch.py`) shares its model lookup and
`predict_scores`, without the per-record request models, which a whole file does not need.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from ..contract import DataContract, load_contract
from ..data.batches import append_jsonl
from ..errors import ExpectedError
from ..modeling import predict_scores
from ..settings import Settings
from ..training import registry
from .schemas import Prediction, Record

logger = logging.getLogger(__name__)


class NoChampionError(ExpectedError):
    """The registry has no champion yet: nothing can be scored."""


NO_CHAMPION = "no champion model in the registry yet: train one (the `train` command)"


@dataclass(frozen=True)
class LoadedModel:
    version: registry.ModelVersion
    model: Pipeline
    loaded_at: str


class PredictionLog:
    """Append-only JSON Lines: one line per scored record. Monitoring (step 7) reads it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()  # one write per batch, never interleaved across threads

    def append(self, rows: list[dict[str, Any]]) -> None:
        with self._lock:
            append_jsonl(rows, self.path)


class Scorer:
    def __init__(self, settings: Settings, contract: DataContract) -> None:
        self.settings = settings
        self.contract = contract
        self.log = PredictionLog(settings.prediction_log)
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
                model = registry.load_model(champion)
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
        rows = [record.model_dump(mode="json") for record in records]
        scores, version = self.score_rows(rows)
        return [
            Prediction(score=float(score), model_version=version, record_id=self.record_id(row))
            for row, score in zip(rows, scores, strict=True)
        ]

    def record_id(self, row: dict[str, Any]) -> str | None:
        """A row's id as a response gives it: text (a contract's id may be an int)."""
        value = row.get(self.contract.id_column) if self.contract.id_column else None
        return None if value is None else str(value)

    def score_rows(self, rows: list[dict[str, Any]]) -> tuple[np.ndarray, str]:
        """Score request rows (in JSON form) with the model in memory and log each with its
        score; the scores, in row order, and the model version that gave them."""
        loaded = self._loaded
        if loaded is None:
            raise NoChampionError(self._problem)
        started = time.perf_counter()
        scores = predict_scores(loaded.model, pd.DataFrame(rows), self.contract).to_numpy()
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
