"""The local Evidently workspace: every monitoring run's snapshot and every online window's, and
a project dashboard that `evidently ui` (the `dashboard` command) shows over time: a tab for
drift (monitoring runs) and one for online metrics (labels joined to served predictions, a line
per model version)."""

from __future__ import annotations

from pathlib import Path

from evidently.core.report import Snapshot
from evidently.sdk.models import PanelMetric
from evidently.sdk.panels import counter_panel, line_plot_panel
from evidently.ui.workspace import Project, Workspace

from ..contract import DataContract
from .drift import DRIFT_TAG, SCORE_COLUMN
from .quality import DASHBOARD_METRIC

METRIC = "evidently:metric_v2:"
DRIFT_TAB = "Drift"
ONLINE_TAB = "Online metrics"
ONLINE_TAG = "online"


def version_tag(version: str) -> str:
    return f"model-v{version}"


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
            values=[PanelMetric(legend="rows", metric=f"{METRIC}RowCount", tags=[DRIFT_TAG])],
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
                    tags=[DRIFT_TAG],
                )
            ],
            size="half",
        ),
        line_plot_panel(
            title=f"{quality_title} of labelled batches judged by monitoring",
            values=[
                PanelMetric(
                    legend=quality_title,
                    metric=f"{METRIC}{quality_metric}",
                    metric_labels=quality_labels,
                    tags=[DRIFT_TAG],
                )
            ],
            size="half",
        ),
    ]


def online_panels(contract: DataContract, versions: list[str]) -> list[object]:
    """The online tab: the task's quality metric with a line per model version, what each
    predicted against what happened, and how many predictions got their label."""
    quality_metric, quality_title, quality_labels = DASHBOARD_METRIC
    target = contract.target.name

    def per_version(version: str) -> PanelMetric:
        return PanelMetric(
            legend=f"v{version}",
            metric=f"{METRIC}{quality_metric}",
            metric_labels=quality_labels,
            tags=[ONLINE_TAG, version_tag(version)],
        )

    return [
        line_plot_panel(
            title=f"Online {quality_title} per model version (labels joined to predictions)",
            values=[per_version(version) for version in versions],
        ),
        line_plot_panel(
            title=f"Predicted vs observed: mean score and mean {target}",
            values=[
                PanelMetric(
                    legend=legend,
                    metric=f"{METRIC}MeanValue",
                    metric_labels={"column": column},
                    tags=[ONLINE_TAG],
                )
                for legend, column in (("mean score", SCORE_COLUMN), (f"mean {target}", target))
            ],
            size="half",
        ),
        counter_panel(
            title="Labelled predictions",
            values=[PanelMetric(legend="rows", metric=f"{METRIC}RowCount", tags=[ONLINE_TAG])],
            aggregation="sum",
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
        project.dashboard.add_panel(panel, tab=DRIFT_TAB)
    for panel in online_panels(contract, []):
        project.dashboard.add_panel(panel, tab=ONLINE_TAB)
    return workspace, project


def add_snapshot(path: Path, name: str, contract: DataContract, snapshot: Snapshot) -> str:
    workspace, project = open_project(path, name, contract)
    reference = workspace.add_run(project.id, snapshot)
    return str(reference.id)


def replace_online_snapshots(
    path: Path,
    name: str,
    contract: DataContract,
    snapshots: dict[str, Snapshot],
    replaced: list[str],
    versions: list[str],
) -> dict[str, str]:
    """Add each online window's snapshot (keyed by the caller's window key), delete the ones
    they replace (the same window measured before more labels arrived), and give the online
    tab a line per model version in `versions`. The snapshot id of each key."""
    workspace, project = open_project(path, name, contract)
    for snapshot_id in replaced:
        workspace.delete_run(project.id, snapshot_id)
    added = {key: str(workspace.add_run(project.id, run).id) for key, run in snapshots.items()}
    replace_tab(workspace, project, ONLINE_TAB, online_panels(contract, versions))
    return added


def replace_tab(workspace: Workspace, project: Project, tab: str, panels: list[object]) -> None:
    """The tab `tab` with these panels only. (Evidently's `delete_tab` keeps the tab's panels
    on the dashboard, and its UI shows every panel: each rebuild would add a copy.)"""
    model = project.dashboard.model()
    gone = {panel for found in model.tabs if found.title == tab for panel in found.panels}
    model.tabs = [found for found in model.tabs if found.title != tab]
    model.panels = [panel for panel in model.panels if panel.id not in gone]
    workspace.save_dashboard(project.id, model)
    for panel in panels:
        project.dashboard.add_panel(panel, tab=tab)
