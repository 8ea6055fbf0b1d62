"""The pipeline's flows as Prefect deployments, served by one long-running worker process.

`{{ cookiecutter.project_slug }} worker` (the worker image's command) registers them with a standing Prefect
server and runs whatever is triggered there: from the UI, `prefect deployment run
ingestion/ingest`, or an automation. Entry points are module paths, so they resolve in an
installed package (the image) as well as in a checkout.
"""

from __future__ import annotations

from prefect.deployments.runner import RunnerDeployment
from prefect.types.entrypoint import EntrypointType


def pipeline_deployments() -> list[RunnerDeployment]:
    from .data.flow import ingestion_flow
    from .serving.flow import scoring_flow
    from .training.flow import training_flow

    return [
        RunnerDeployment.from_flow(flow, name=name, entrypoint_type=EntrypointType.MODULE_PATH)
        for flow, name in (
            (ingestion_flow, "ingest"),
            (training_flow, "train"),
            (scoring_flow, "score"),
        )
    ]
