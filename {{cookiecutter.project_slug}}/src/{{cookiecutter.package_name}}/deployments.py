"""The pipeline's flows as Prefect deployments, served by one long-running worker process.

`{{ cookiecutter.project_slug }} worker` (the worker image's command) registers them with a standing Prefect
server and runs whatever is triggered there: from the UI, `prefect deployment run
ingestion/ingest`, an automation, or `run_deployed` (the loop, when a server is configured).
Entry points are module paths, so they resolve in an installed package (the image) as well as
in a checkout.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from prefect.deployments.runner import RunnerDeployment
from prefect.types.entrypoint import EntrypointType

from .errors import ExpectedError

# How long a triggered run may wait for a worker to take it before we say none is there.
PICKUP_SECONDS = 120.0
POLL_SECONDS = 1.0


class NoWorkerError(ExpectedError):
    """A deployment is missing, or no worker takes its runs."""


def pipeline_deployments(monitor_every_minutes: int = 0) -> list[RunnerDeployment]:
    """Ingestion (of a batch, or of a folder of them), the feature store's materialization,
    training, batch scoring, labels and monitoring;
    monitoring runs every `monitor_every_minutes` when that is set (0: only when triggered)."""
    from .flows import (
        experiment_flow,
        features_flow,
        folder_ingestion_flow,
        ingestion_flow,
        labels_flow,
        monitoring_flow,
        scoring_flow,
        training_flow,
    )

    by_module = EntrypointType.MODULE_PATH
    deployments = [
        RunnerDeployment.from_flow(flow, name=name, entrypoint_type=by_module)
        for flow, name in (
            (ingestion_flow, "ingest"),
            (folder_ingestion_flow, "ingest-folder"),
            (features_flow, "materialize"),
            (training_flow, "train"),
            (scoring_flow, "score"),
            (labels_flow, "join"),
            (experiment_flow, "analyse"),
        )
    ]
    interval = timedelta(minutes=monitor_every_minutes) if monitor_every_minutes else None
    deployments.append(
        RunnerDeployment.from_flow(
            monitoring_flow, name="monitor", interval=interval, entrypoint_type=by_module
        )
    )
    return deployments


def run_deployed(name: str, parameters: dict[str, Any] | None = None) -> Any:
    """Trigger deployment `name` (`flow/deployment`) through the Prefect API, wait for the run a
    worker makes of it, and return the flow's result (flows persist theirs for this). A failed
    run raises what the flow raised, as a local call would."""
    from prefect import get_client
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            deployment = client.read_deployment_by_name(name)
        except ObjectNotFound:
            raise NoWorkerError(
                f"The Prefect server has no deployment {name}: start the worker (the `worker` "
                "command, with MLSD_PREFECT_API_URL set), which deploys the flows."
            ) from None
        run = client.create_flow_run_from_deployment(deployment.id, parameters=parameters or {})
        created = time.monotonic()
        while not (state := run.state) or not state.is_final():
            waiting = state is None or state.is_scheduled() or state.is_pending()
            if waiting and time.monotonic() - created > PICKUP_SECONDS:
                raise NoWorkerError(
                    f"No worker took flow run {run.name} of {name} within {PICKUP_SECONDS:.0f} s: "
                    "is the `worker` command running against this Prefect server?"
                )
            time.sleep(POLL_SECONDS)
            run = client.read_flow_run(run.id)
    return state.result(raise_on_failure=True)
