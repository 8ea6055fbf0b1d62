"""The local Evidently workspace: every monitoring run's snapshot, and a project dashboard that
`evidently ui` (the `dashboard` command) shows over time."""

from __future__ import annotations

from pathlib import Path

from evidently.core.report import Snapshot
from evidently.sdk.models import PanelMetric
from evidently.sdk.panels import counter_panel, line_plot_panel
from evidently.ui.workspace import Project, Workspace

from ..contract import DataContract
from .drift import SCORE_COLUMN
from .quality import DASHBOARD_METRIC

METRIC = "evidently:metric_v2:"


def dashboard_panels(contract: DataContract) -> list[object]:
    drift_share = PanelMetric(
        legend="share of drifted features",
        metric=f"{METRIC}DriftedColumnsCount",
        metric_labels={"value_type": "share"},
    )
    quality_metric, quality_title, quality_labels = DASHBOARD_METRIC
    return [
        counter_panel(
            title="Share of drifted features (last run)", values=[drift_share], size="half"
        ),
        counter_panel(
            title="Rows monitored",
            values=[PanelMetric(legend="rows", metric=f"{METRIC}RowCount")],
            aggregation="sum",
            size="half",
        ),
        line_plot_panel(title="Share of drifted features", values=[drift_share]),
        line_plot_panel(
            title="Drift p-value per feature (below step 1's p-value = drift)",
            values=[
                PanelMetric(
                    legend=column.name,
                    metric=f"{METRIC}ValueDrift",
                    metric_labels={"column": column.name},
                )
                for column in contract.features
            ],
        ),
        line_plot_panel(
            title="Mean score (prediction drift)",
            values=[
                PanelMetric(
                    legend="mean score",
                    metric=f"{METRIC}MeanValue",
                    metric_labels={"column": SCORE_COLUMN},
                )
            ],
            size="half",
        ),
        line_plot_panel(
            title=f"{quality_title} where labels arrived",
            values=[
                PanelMetric(
                    legend=quality_title,
                    metric=f"{METRIC}{quality_metric}",
                    metric_labels=quality_labels,
                )
            ],
            size="half",
        ),
    ]


def open_project(path: Path, name: str, contract: DataContract) -> tuple[Workspace, Project]:
    """The workspace at `path` and its project `name`, created with its dashboard if new."""
    workspace = Workspace.create(str(path))
    found = workspace.search_project(name)
    if found:
        return workspace, found[0]
    project = workspace.create_project(name, description="Drift and quality of the served model")
    for panel in dashboard_panels(contract):
        project.dashboard.add_panel(panel)
    return workspace, project


def add_snapshot(path: Path, name: str, contract: DataContract, snapshot: Snapshot) -> str:
    workspace, project = open_project(path, name, contract)
    reference = workspace.add_run(project.id, snapshot)
    return str(reference.id)
