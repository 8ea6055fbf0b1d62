"""The pipeline's flows as Prefect deployments, served by one long-running worker process.

`{{ cookiecutter.project_slug }} worker` (the worker image's command) registers them with a standing Prefect
server and runs whatever is triggered there: from the UI, `prefect deployment run
ingestion/ingest`, or an automation. Entry points are module paths, so they resolve in an
installed package (the image) as well as in a checkout.
"""

from __future__ import annotations

from datetime import timedelta

from prefect.deployments.runner import RunnerDeployment
from prefect.types.entrypoint import EntrypointType


def pipeline_deployments(monitor_every_minutes: int = 0) -> list[RunnerDeployment]:
    """Ingestion, training, batch scoring and monitoring; monitoring runs every
    `monitor_every_minutes` when that is set (0: only when triggered)."""
    from .data.flow import ingestion_flow
    from .monitoring.flow import monitoring_flow
    from .serving.flow import scoring_flow
    from .training.flow import training_flow

    by_module = EntrypointType.MODULE_PATH
    deployments = [
        RunnerDeployment.from_flow(flow, name=name, entrypoint_type=by_module)
        for flow, name in (
            (ingestion_flow, "ingest"),
            (training_flow, "train"),
            (scoring_flow, "score"),
        )
    ]
    interval = timedelta(minutes=monitor_every_minutes) if monitor_every_minutes else None
    deployments.append(
        RunnerDeployment.from_flow(
            monitoring_flow, name="monitor", interval=interval, entrypoint_type=by_module
        )
    )
    return deployments
