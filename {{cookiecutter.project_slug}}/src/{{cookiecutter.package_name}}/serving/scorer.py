"""The scoring core, independent of any web framework: the champion model, request records in,
predictions out, every prediction logged.

The BentoML service wraps it. Batch scoring (`batch.py`), monitoring and training (to score the
champion on a new holdout) share `training.scoring.load_scoring_model`: a version's compiled
scoring path when it has one (`modeling/compiled.py`), else its scikit-learn pipeline.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from ..contract import DataContract, load_contract
from ..contract.prediction import PredictionShape, log_rows
from ..data.feature_store import OnlineFeatures
from ..errors import ExpectedError
from ..modeling.scoring import ScoringModel
from ..requirements import load_requirements
from ..settings import ENV_PREFIX, ScoringPath, Settings
from ..training import registry
from ..training.scoring import load_scoring_model
from .prediction_log import PredictionLog
from .schemas import Prediction, Record, json_rows
from .split import CHALLENGER_ARM, CHAMPION_ARM, SHADOW_ARM, in_challenger_arm

if TYPE_CHECKING:
    pass

logger = logging.getLogger(__name__)


class NoChampionError(ExpectedError):
    """The registry has no champion yet: nothing can be scored."""


NO_CHAMPION = "no champion model in the registry yet: train one (the `train` command)"


def refused_by_gate(version: registry.ModelVersion, forced: str | None) -> str | None:
    """Why `version` must not be served (its promotion gate did not pass, and the operator did
    not name it in MLSD_SERVE_UNGATED_VERSION), or None."""
    gate = version.tags.get(registry.GATE_TAG)
    if gate == registry.GATE_PASSED:
        return None
    label = version.label
    if forced is not None and forced == version.version:
        logger.warning(
            "serving %s although its gate is %r: forced by %sSERVE_UNGATED_VERSION",
            label,
            gate,
            ENV_PREFIX,
        )
        return None
    return (
        f"model {label} has an alias but its promotion gate is {gate or 'not recorded'}: it is "
        f"not served (an operator can force it with {ENV_PREFIX}SERVE_UNGATED_VERSION="
        f"{version.version})"
    )


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


# A registry check that has not answered after this long counts as an outage (MLflow's own
# request timeout, set in runtime.py, ends it soon after).
REGISTRY_TIMEOUT_SECONDS = 10.0


def now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class LoadedModel:
    version: registry.ModelVersion
    model: ScoringModel
    loaded_at: str


@dataclass(frozen=True)
class Scored:
    """The model's raw output for request rows, in row order (read through the task's
    prediction shape), and which model and arm gave each."""

    scores: np.ndarray
    versions: list[str]
    arms: list[str]


class Scorer:
    def __init__(self, settings: Settings, contract: DataContract) -> None:
        self.settings = settings
        self.contract = contract
        self.prediction = contract.prediction  # what an answer holds (`Prediction`)
        self.log = PredictionLog(
            settings.prediction_log,
            max_bytes=settings.prediction_log_max_mb * 1_000_000,
            keep_files=settings.prediction_log_keep_files,
            share=load_requirements(settings.requirements_file).serving.log_share,
            key_column=contract.group_column or contract.id_column,
        )
        self._id_column = contract.id_column
        # An A/B test keeps a key in one arm: a ranking's query (all its candidates), else
        # the record.
        self._split_column = contract.group_column or contract.id_column
        self.rollout = load_requirements(settings.requirements_file).experiment.rollout
        self._loaded: LoadedModel | None = None
        self._trial: LoadedModel | None = None  # the version on trial, in an A/B test or shadow
        self._reload_lock = threading.Lock()
        # The registry as the background check last found it (`watch_registry`).
        self._check_started: float | None = None
        self._unreachable_since: str | None = None
        self._registry_error: str | None = None
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
            if self.features is not None:
                self.features.reload()
            registry.connect(self.settings)
            name = self.settings.registered_model_name
            champion = registry.version_by_alias(name, registry.CHAMPION)
            if champion is None:
                self._problem = NO_CHAMPION
                return False
            forced = self.settings.serve_ungated_version
            changed = False
            if not (self._loaded and self._loaded.version == champion):
                if refusal := refused_by_gate(champion, forced):
                    self._problem = refusal
                    raise registry.ModelLoadError(refusal)  # what is in memory keeps serving
                before = self._loaded
                self._loaded = self._load(champion)  # a model in memory keeps serving on error
                logger.info(
                    "serving %s v%s (was %s)",
                    champion.name,
                    champion.version,
                    f"v{before.version.version}" if before else "nothing",
                )
                changed = True
            on_trial = None
            if self.rollout != "direct":
                on_trial = registry.version_by_alias(name, registry.TRIAL)
            if on_trial is not None and on_trial == champion:
                on_trial = None  # promoted, and the trial alias not yet moved
            if on_trial is not None and (refusal := refused_by_gate(on_trial, forced)):
                logger.error("%s; no version is on trial", refusal)
                on_trial = None
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
            self._problem = error.brief  # what clients are told: no server paths
            raise
        return LoadedModel(version=version, model=model, loaded_at=now_text())

    def check_registry(self) -> None:
        """One check for a new champion, as the background watch makes it: a failure is
        logged once per outage (not per check) and remembered for readiness and GET /model,
        and the model in memory keeps serving."""
        self._check_started = time.monotonic()
        try:
            self.refresh()
        except registry.ModelLoadError as error:  # the registry answered: it is reachable
            self._mark_reachable()
            if str(error) != self._registry_error:
                logger.error("the champion was not loaded: %s", error)
            self._registry_error = str(error)
        except Exception as error:
            if self._unreachable_since is None:
                self._unreachable_since = now_text()
                logger.error(  # one line, no traceback: the outage is not this service's bug
                    "the registry is unreachable (%s: %s); serving the model in memory until "
                    "it answers",
                    type(error).__name__,
                    str(error).splitlines()[0][:300] if str(error) else "",
                )
        else:
            self._mark_reachable()
            self._registry_error = None
        finally:
            self._check_started = None

    def _mark_reachable(self) -> None:
        if self._unreachable_since is not None:
            logger.warning(
                "the registry answers again (unreachable since %s)", self._unreachable_since
            )
        self._unreachable_since = None

    def watch_registry(self) -> threading.Thread | None:
        """Check the registry every `champion_check_seconds` on a thread of its own: a
        registry that hangs or is down never holds a request (a prediction only reads the
        model in memory)."""
        interval = self.settings.champion_check_seconds
        if not interval:
            return None

        def watch() -> None:
            while True:
                time.sleep(interval)
                self.check_registry()

        thread = threading.Thread(target=watch, name="champion-check", daemon=True)
        thread.start()
        return thread

    def registry_unreachable_since(self) -> str | None:
        """Since when the registry has not answered: its last check failed, or the one under
        way has taken longer than `REGISTRY_TIMEOUT_SECONDS`."""
        if self._unreachable_since is not None:
            return self._unreachable_since
        started = self._check_started
        if started is None or (elapsed := time.monotonic() - started) <= REGISTRY_TIMEOUT_SECONDS:
            return None
        return datetime.fromtimestamp(time.time() - elapsed, UTC).isoformat(timespec="seconds")

    def score(self, records: Sequence[Record]) -> list[Prediction]:
        # Dumped once, in JSON form: the frame for the model and the lines for the log.
        rows = json_rows(records)
        scored = self.score_rows(rows)
        return [
            Prediction(**answer, model_version=version, record_id=self.record_id(row), arm=arm)
            for row, answer, version, arm in zip(
                rows,
                self.prediction.answers(scored.scores),
                scored.versions,
                scored.arms,
                strict=True,
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
            answered = [
                (chosen, model.model.score_rows([rows[i] for i in np.flatnonzero(chosen)]))
                for model, chosen in ((loaded, ~challenged), (trial, challenged))
                if chosen.any()
            ]
            # Both arms' outputs back in row order, in the shape the models give.
            first = answered[0][1]
            dtype = np.result_type(*(part for _, part in answered))
            scores = np.empty((len(rows), *first.shape[1:]), dtype)
            for chosen, part in answered:
                scores[chosen] = part
            scored = Scored(
                scores,
                [(trial if c else loaded).version.version for c in challenged],
                [CHALLENGER_ARM if c else CHAMPION_ARM for c in challenged],
            )
        latency_ms = round((time.perf_counter() - started) * 1000, 3)
        logged: dict[str, Any] = {"latency_ms": latency_ms, "batch_rows": len(rows)}
        logged["logged_at"] = datetime.now(UTC).isoformat()
        lines = log_lines(rows, scored, logged, self.prediction)
        if trial is not None and self.rollout == "shadow":
            shadow = trial.model.score_rows(rows)  # after the answer's latency was taken
            version = trial.version.version
            lines += log_lines(
                rows,
                Scored(shadow, [version] * len(rows), [SHADOW_ARM] * len(rows)),
                logged,
                self.prediction,
            )
        self.log.append(lines)
        return scored


def log_lines(
    rows: list[dict[str, Any]], scored: Scored, logged: dict[str, Any], shape: PredictionShape
) -> list[dict[str, Any]]:
    """A prediction-log line per row: the record as it was scored, the task's prediction
    fields (flat, as a scored file holds them), model version and arm, and what the request
    shares (`logged`: latency, size, time)."""
    return [
        row | fields | {"model_version": version, "arm": arm} | logged
        for row, fields, version, arm in zip(
            rows, log_rows(shape, scored.scores), scored.versions, scored.arms, strict=True
        )
    ]
