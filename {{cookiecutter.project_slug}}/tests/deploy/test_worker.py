"""The worker serves every pipeline flow as a deployment; it refuses to start without a server."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from prefect import Flow
from prefect.client.schemas.schedules import IntervalSchedule
from prefect.flows import load_flow_from_entrypoint
from typer.testing import CliRunner

from {{ cookiecutter.package_name }} import flows
from {{ cookiecutter.package_name }}.cli import app
from {{ cookiecutter.package_name }}.deployments import pipeline_deployments
from {{ cookiecutter.package_name }}.flows import REFRESHES_REPORT
from {{ cookiecutter.package_name }}.report import refresh_after_run


def test_every_pipeline_flow_is_deployed_by_module_path() -> None:
    deployments = pipeline_deployments(monitor_every_minutes=15)
    assert {(d.flow_name, d.name) for d in deployments} == {
        ("ingestion", "ingest"),
        ("folder-ingestion", "ingest-folder"),
        ("features", "materialize"),
        ("training", "train"),
        ("batch-scoring", "score"),
        ("labels", "join"),
        ("experiment", "analyse"),
        ("monitoring", "monitor"),
    }
    (monitor,) = [d for d in deployments if d.name == "monitor"]
    (schedule,) = monitor.schedules or []
    assert isinstance(schedule.schedule, IntervalSchedule)
    assert schedule.schedule.interval == timedelta(minutes=15)
    assert all(not d.schedules for d in deployments if d.name != "monitor")
    for deployment in deployments:
        assert deployment.entrypoint is not None
        assert not deployment.entrypoint.endswith(".py")  # a module path, not a checkout path
        # A module path resolves wherever the package is installed, e.g. in the worker image.
        loaded: Flow[..., Any] = load_flow_from_entrypoint(deployment.entrypoint)
        assert loaded.name == deployment.flow_name
        # The flows that change the system report refresh it when a worker runs them too.
        refreshes = loaded.fn.__name__ in REFRESHES_REPORT
        assert (refresh_after_run in loaded.on_completion_hooks) == refreshes, deployment.name
        assert (refresh_after_run in loaded.on_failure_hooks) == refreshes, deployment.name
    composed = [d for d in deployments if (d.entrypoint or "").startswith(f"{flows.__name__}.")]
    assert len(composed) == len(REFRESHES_REPORT)


def test_worker_refuses_to_start_without_a_prefect_server() -> None:
    result = CliRunner().invoke(app, ["worker"])
    assert result.exit_code == 2
    assert "MLSD_PREFECT_API_URL" in result.output


def test_the_loop_through_deployments_needs_a_prefect_server() -> None:
    result = CliRunner().invoke(app, ["loop", "--deployments"])
    assert result.exit_code == 2
    assert "MLSD_PREFECT_API_URL" in result.output
