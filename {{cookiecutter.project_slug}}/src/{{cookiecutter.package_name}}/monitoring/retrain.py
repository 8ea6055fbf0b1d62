"""What the monitoring flows share when they act: the settings with the service a caller names,
the labelled batch ingested before a retrain, the retrain through the gate, and the service told
to reload."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from ..data.flow import ingestion_flow
from ..settings import Settings, get_settings
from ..stopwatch import Stopwatch
from ..training import registry
from ..training.flow import training_flow
from . import steps

reload_service = task(name="reload-service", cache_policy=NO_CACHE)(steps.reload_service)


def settings_for(service_url: str | None) -> Settings:
    """The settings, with the service a flow tells to reload when the caller names one."""
    settings = get_settings()
    return settings.model_copy(update={"service_url": service_url}) if service_url else settings


def ingest_before_retrain(labelled: Path, timed: Stopwatch) -> str:
    """Ingest the labelled batch a retrain is to see: validated and stored, or quarantined,
    which raises (and so stops the retrain)."""
    record = timed("ingest", ingestion_flow, source=labelled)
    return f"{record.status} as {record.batch_id}"


def retrain_champion(
    settings: Settings, champion: registry.ModelVersion, timed: Stopwatch, ingested: str | None
) -> tuple[dict[str, Any], str | None]:
    """Fit the champion's candidate (or settings' `retrain_model_name`) on every validated batch
    through the gate, and tell the service to reload when it was promoted. What was retrained
    (with `ingested`, the batch ingested for it), and what the service said."""
    candidate = settings.retrain_model_name or registry.candidate_of(champion)
    trained = timed("retrain", training_flow, model_name=candidate)
    # The retrain's own work counts as work: fitting and scoring inside the subflow.
    timed.seconds |= {f"retrain.{k}": v for k, v in trained.seconds.items()}
    service = None
    if trained.decision.promote:
        service = reload_service(settings)
    retrained = {
        "version": trained.registered.version,
        "model_name": candidate,
        "promoted": trained.decision.promote and not trained.decision.trial,
        "trial": trained.decision.trial,
        "summary": trained.decision.summary(),
        "batch": ingested,
    }
    return retrained, service
