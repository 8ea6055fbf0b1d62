"""The prediction service (BentoML): the registry's champion behind an HTTP API.

    bentoml serve <package>.serving.service:PredictionService --host 127.0.0.1 --port 3000

Endpoints: POST /predict (1 to `max_batch_rows` records; adaptive batching merges concurrent
requests into one model call), the task's own (`endpoints.py`), POST /reload (pick up a newly
promoted champion, or a version on trial, now; it needs the service token), GET /model (which
version answers, the registry's and the log's state), GET /readyz (ready with a model loaded
and the prediction log written), and BentoML's GET /livez and /metrics. While a version is on
trial (step 1's `experiment.rollout`), each answer says which arm gave it (`split.py`).

The registry is checked for a new champion on a thread of its own (`Scorer.watch_registry`):
a registry that hangs or is down never holds a prediction.
"""

from __future__ import annotations

import gc
import logging
from typing import Annotated, Any

import bentoml
from bentoml.exceptions import ServiceUnavailable
from pydantic import Field

from ..credentials import service_token
from ..data.feature_store import FeatureStoreError, freshness
from ..requirements import load_requirements
from ..settings import get_settings
from ..training.registry import ModelLoadError
from .endpoints import TASK_PATHS, TaskEndpoints
from .guard import RequestGuard, amend_openapi, quiet_client_errors
from .schemas import Prediction, record_model
from .scorer import NoChampionError, Scorer

SETTINGS = get_settings()
REQUIREMENTS = load_requirements(SETTINGS.requirements_file)
SCORER = Scorer.from_settings(SETTINGS)
# Generated from the data contract at import: BentoML reads the API's types from annotations.
RequestRecord: Any = record_model(SCORER.contract, feature_store=SETTINGS.uses_feature_store)
MAX_ROWS = REQUIREMENTS.serving.max_batch_rows
Records = Annotated[list[RequestRecord], Field(min_length=1, max_length=MAX_ROWS)]
# The largest body a full request can need, pretty-printed: each field's longest JSON value
# (strings may be \u-escaped, 6 bytes a character) and name, doubled for whitespace.
MAX_BODY_BYTES = 64 * 1024 + 2 * MAX_ROWS * SCORER.contract.max_record_json_bytes(
    SETTINGS.uses_feature_store
)
SCORING_PATHS = ("/predict", *TASK_PATHS)
API_PATHS = (*SCORING_PATHS, "/reload")
PROTECTED_PATHS = ("/reload",)  # what changes the service's state needs the service token

# Each request leaves ~30 tracked objects alive until BentoML's 30 s timeout timer fires, so at
# a few hundred requests/s the heap holds ~300k of them, and with Python's default thresholds a
# full collection ran every ~3 s and stalled every request in flight for 0.2-0.3 s (the p99 of
# bench/serving.py). Full collections are now rare; the young generations still collect often.
GC_THRESHOLDS = (10_000, 20, 100)

logger = logging.getLogger(__name__)
# The package's INFO lines (a model swap, what a version scores with) belong in the service's log.
logging.getLogger(__package__.rsplit(".", 1)[0]).setLevel(logging.INFO)


def settle_heap() -> None:
    """Collect once, then move what is alive now (libraries, the model) out of the collector's
    reach for good, so later collections only walk what requests create."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


# No access log: every prediction is already in the prediction log, and formatting a log line
# per request cost ~10% of throughput under load (bench/serving.py). No OpenTelemetry span per
# API request either: with no exporter configured they went nowhere, and cost half of the
# service's time once the compiled path made scoring cheap (708 -> 1,260 requests/s). To trace
# requests, configure an exporter and drop `excluded_urls` here.
@bentoml.service(
    name="prediction_service",
    workers=1,
    traffic={"timeout": 30},
    logging={"access": {"enabled": False}},
    tracing={"excluded_urls": list(API_PATHS)},
)
class PredictionService(TaskEndpoints):
    def __init__(self) -> None:
        self.scorer = SCORER
        try:
            self.scorer.refresh()
        except ModelLoadError as error:  # start anyway: /readyz says not ready, /reload retries
            logger.error("%s", error)  # with paths, for the operator; clients get its brief
        except Exception:
            logger.exception("no model loaded at start-up")
        if reason := self.scorer.unavailable():
            logger.warning("not ready: %s; then POST /reload", reason)
        self.scorer.watch_registry()
        service_token(self.scorer.settings)  # made now, for clients to read from the project
        settle_heap()

    def __is_ready__(self) -> bool:
        return self.scorer.loaded is not None

    @bentoml.api(
        batchable=True,
        # Up to 16 full requests per model call: one LightGBM call and one log write for all of
        # them (64-record requests: ~250 -> ~350/s at 16 in flight).
        max_batch_size=16 * MAX_ROWS,
        # The batcher sheds (503) a request it expects to exceed this. Ten times the p99 budget
        # sheds only under real overload: none at 16 in flight (bench/serving.py).
        max_latency_ms=int(REQUIREMENTS.serving.p99_latency_ms * 10),
    )
    def predict(self, records: Records) -> list[Prediction]:
        try:
            return self.scorer.score(records)
        except (NoChampionError, FeatureStoreError) as error:
            raise ServiceUnavailable(str(error)) from None

    @bentoml.api
    def reload(self) -> dict[str, Any]:
        """Load the current champion if it changed; the retraining flow calls this."""
        try:
            changed = self.scorer.refresh()
        except ModelLoadError as error:
            logger.error("reload failed: %s", error)
            return {"changed": False, "error": error.brief} | model_info()
        if changed:
            settle_heap()
        return {"changed": changed} | model_info()


def model_info() -> dict[str, Any]:
    """GET /model: which model version is loaded, from which run, how it scores, since when;
    since when the registry has not answered; what the prediction log lost."""
    scorer = SCORER
    loaded = scorer.loaded
    state: dict[str, Any] = {
        "registry_unreachable_since": scorer.registry_unreachable_since(),
        "prediction_log": scorer.log.state(),
    }
    if loaded is None:
        return {"loaded": False} | state
    info: dict[str, Any] = {
        "loaded": True,
        "name": loaded.version.name,
        "version": loaded.version.version,
        "run_id": loaded.version.run_id,
        "scoring": loaded.model.description,
        "loaded_at": loaded.loaded_at,
    }
    if (features := scorer.features) is not None:
        info["feature_store"] = {
            "freshness": freshness(scorer.contract, scorer.settings, features.store).describe(),
            "unknown_keys": features.unknown_keys,  # served with cold-start values
        }
    if (trial := scorer.trial) is not None:  # a version on trial beside the champion
        info["trial"] = {
            "version": trial.version.version,
            "rollout": scorer.rollout,
            "share": scorer.settings.challenger_share if scorer.rollout == "ab" else None,
        }
    return info | state


def readiness() -> tuple[int, dict[str, Any]]:
    """GET /readyz: 200 while a model answers and its predictions are logged; 503, with the
    reason, while nothing is loaded or the log cannot be written (predictions are still
    answered then: an orchestrator may route elsewhere, nothing is refused here). A registry
    that does not answer leaves the service ready: it serves the model in memory, and says
    since when."""
    scorer = SCORER
    log = scorer.log.state()
    problems = []
    if reason := scorer.unavailable():
        problems.append(reason)
    if log["failing_since"]:
        problems.append(
            f"the prediction log cannot be written since {log['failing_since']} "
            f"({log['lost_lines']} lines lost)"
        )
    body = {
        "ready": not problems,
        "problems": problems,
        "registry_unreachable_since": scorer.registry_unreachable_since(),
        "lost_log_lines": log["lost_lines"],
    }
    return (503 if problems else 200), body


# @bentoml.service made the class a bentoml.Service; mypy still sees the class.
SERVICE: Any = PredictionService
# BentoML 1.4 works out each answer's media type from the output's JSON schema, generated anew
# for every response: a fifth of the worker's time at 400 requests/s (bench/serving.py). Every
# answer here is JSON, so say so once.
for _api in SERVICE.apis.values():
    _api.output_spec.media_type = "application/json"


OPENAPI_INFO = {
    "title": f"{SCORER.contract.name} prediction service",
    "version": f"data contract v{SCORER.contract.version}",
    "description": (
        f"{REQUIREMENTS.ml_objective}\n\n"
        "Each record follows the data contract; a field that breaks it gets a 400 naming it. "
        "GET /model says which model version answers."
    ),
}


GET_ROUTES = {"/model": lambda: (200, model_info()), "/readyz": readiness}


def openapi_document() -> dict[str, Any]:
    return amend_openapi(
        SERVICE.openapi_spec.asdict(),
        API_PATHS,
        SCORING_PATHS,
        OPENAPI_INFO,
        protected_paths=PROTECTED_PATHS,
        get_paths={
            "/model": "Which model version answers; the registry's and the prediction log's state",
            "/readyz": "Ready (200) or not (503), with the reasons",
        },
    )


SERVICE.add_asgi_middleware(
    RequestGuard,
    api_paths=API_PATHS,
    max_body_bytes=MAX_BODY_BYTES,
    unavailable=SCORER.unavailable,
    guarded_paths=SCORING_PATHS,
    openapi=openapi_document,
    protected_paths=PROTECTED_PATHS,
    token=lambda: service_token(SCORER.settings),
    get_routes=GET_ROUTES,
)
quiet_client_errors()
