"""The pipeline's flows as the project runs them: each step's flow (its `flow.py`, thin wiring
over the step's functions) with the system report refreshed when it ends, whether it succeeded
or failed.

The report reads every step's artifacts, so it sits above all of them; its refresh is wired here,
where the flows are composed, not in the steps. The commands, the loop and the worker's
deployments run these. Each is composed the first time it is asked for, so a command imports
only its own step (monitoring's Evidently import alone takes seconds).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prefect import Flow

    # What each name is to the type checker: the step's flow, whose parameters and result the
    # composed flow keeps (at run time, `__getattr__` below composes it).
    from .data.flow import features_flow, folder_ingestion_flow, ingestion_flow
    from .monitoring.experiment_flow import experiment_flow
    from .monitoring.flow import monitoring_flow
    from .monitoring.labels_flow import labels_flow
    from .serving.flow import scoring_flow
    from .training.flow import training_flow

__all__ = [
    "experiment_flow",
    "features_flow",
    "folder_ingestion_flow",
    "ingestion_flow",
    "labels_flow",
    "monitoring_flow",
    "scoring_flow",
    "training_flow",
]

# The flows that change what the report shows; batch scoring and materialization do not.
REFRESHES_REPORT = frozenset(
    {
        "ingestion_flow",
        "folder_ingestion_flow",
        "training_flow",
        "monitoring_flow",
        "labels_flow",
        "experiment_flow",
    }
)


def step_flow(name: str) -> Flow[..., Any]:
    """The step's own flow called `name`."""
    if name in {"ingestion_flow", "folder_ingestion_flow", "features_flow"}:
        from .data import flow as data_flows

        found: Flow[..., Any] = getattr(data_flows, name)
    elif name == "training_flow":
        from .training import flow as training_flows

        found = getattr(training_flows, name)
    elif name == "monitoring_flow":
        from .monitoring import flow as monitoring_flows

        found = getattr(monitoring_flows, name)
    elif name == "labels_flow":
        from .monitoring import labels_flow

        found = labels_flow.labels_flow
    elif name == "experiment_flow":
        from .monitoring import experiment_flow

        found = experiment_flow.experiment_flow
    elif name == "scoring_flow":
        from .serving import flow as serving_flows

        found = getattr(serving_flows, name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return found


def __getattr__(name: str) -> Flow[..., Any]:
    found = step_flow(name)
    if name in REFRESHES_REPORT:
        from .report import refresh_after_run

        found = found.with_options(
            on_completion=[refresh_after_run], on_failure=[refresh_after_run]
        )
        # A deployment's entrypoint is the flow's module and name: this module, so a worker's
        # run gets the refresh too.
        found.__module__ = __name__
    globals()[name] = found
    return found
