"""The system report (`report.py`) over a project's files, written by hand here: what each step
says, and that the page is self-contained (it opens offline and fetches nothing)."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from {{ cookiecutter.package_name }}.cli import app
from {{ cookiecutter.package_name }}.report import quantile, write_system_report
from {{ cookiecutter.package_name }}.requirements import load_requirements
from {{ cookiecutter.package_name }}.settings import Settings


def write_jsonl(path: Path, records: list[dict[str, object]], extra: str = "") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records) + extra, encoding="utf-8")


def training_run(settings: Settings, name: str, version: int, value: float, promote: bool) -> None:
    folder = settings.training_reports_dir / name
    folder.mkdir(parents=True)
    primary = load_requirements(settings.requirements_file).offline_metrics.primary
    reasons = ["meets every threshold"] if promote else ["no better than the champion"]
    summary = {
        "model_name": "gradient_boosting",
        "metrics": {primary: value},
        "decision": {"promote": promote, "reasons": reasons},
    }
    (folder / "metrics.json").write_text(json.dumps(summary))
    (folder / "model_card.md").write_text(f"# Model card: model v{version}\n\nbody\n")


@pytest.fixture
def project(settings: Settings) -> Settings:
    """Two batches in, one refused; two training runs; three monitoring runs, one retrain;
    100 logged predictions (latency 1..100 ms) and a garbage line."""
    write_jsonl(
        settings.ingestion_log,
        [
            {"batch_id": "b1", "status": "validated", "rows": 1_000, "failures": []},
            {"batch_id": "b2", "status": "rejected", "rows": 10, "failures": ["age < 0"]},
            {"batch_id": "b3", "status": "validated", "rows": 500, "failures": []},
        ],
    )
    training_run(settings, "20260101T000000Z-gradient_boosting", 1, 0.81, promote=True)
    training_run(settings, "20260102T000000Z-gradient_boosting", 2, 0.79, promote=False)
    (settings.training_reports_dir / "20260103T000000Z-crashed").mkdir()  # no card: skipped
    drift_report = settings.monitoring_reports_dir / "run.html"
    drift_report.parent.mkdir(parents=True)
    drift_report.write_text("<html></html>")

    def monitoring(share: float, action: str, retrained: object = None) -> dict[str, object]:
        summary = {"drift_share": share, "drifted_features": ["x"] if share else []}
        return {
            "champion": "1",
            "action": action,
            "summary": summary,
            "report": str(drift_report),
            "retrained": retrained,
            "finished_at": f"2026-01-0{4 + int(share * 10)}T00:00:00+00:00",
        }

    write_jsonl(
        settings.monitoring_log,
        [
            monitoring(0.0, "none"),
            monitoring(0.25, "alert"),
            monitoring(0.5, "retrain", {"version": "2", "promoted": False}),
        ],
    )
    write_jsonl(
        settings.prediction_log,
        [{"model_version": "1", "latency_ms": float(ms)} for ms in range(1, 101)],
        extra="{not json\n",
    )
    return settings


class Page(HTMLParser):
    """What the page would load, and where its links go."""

    def __init__(self) -> None:
        super().__init__()
        self.loads: list[str] = []
        self.links: list[str] = []
        self.sections: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag in {"script", "img", "iframe", "link", "object", "embed", "source"}:
            self.loads.append(f"{tag} {found}")
        if tag == "a" and found.get("href"):
            self.links.append(str(found["href"]))
        if tag == "section":
            self.sections.append(str(found.get("id")))


def test_each_step_says_what_happened(project: Settings) -> None:
    page = write_system_report(project).read_text()
    text = re.sub(r"<[^>]+>", " ", page)
    assert "2 batches validated (1,500 rows), 1 rejected" in text
    assert "age &lt; 0" in page  # failures are escaped
    assert "v2" in text and "keep champion" in text and "v1" in text
    assert "0.8100" in page and "0.7900" in page
    assert "p50 50.5 ms, p99 99.0 ms" in text  # the garbage line is skipped
    assert "3 monitoring runs" in text and "promoted: False" in text
    assert "share of drifted features per monitoring run" in page  # the drift chart
    assert page.count("<polyline") == 2  # the metric and drift charts


def test_the_page_is_self_contained_and_links_within_the_project(project: Settings) -> None:
    target = write_system_report(project)
    parser = Page()
    parser.feed(target.read_text())
    assert parser.sections == [f"step-{n}" for n in range(1, 8)]
    assert parser.loads == []  # no script, stylesheet, image or frame: nothing is fetched
    assert "@import" not in target.read_text() and "url(" not in target.read_text()
    for href in parser.links:
        if href.startswith("http"):  # the local UIs, named for the user to open
            assert href.startswith("http://127.0.0.1:"), href
        else:
            assert (target.parent / href).resolve().is_file(), href


def test_an_empty_project_gets_a_page_that_says_nothing_happened_yet(settings: Settings) -> None:
    page = write_system_report(settings).read_text()
    assert "no prediction logged yet" in page and "No retrain yet" in page
    assert "0 batches validated" in page


def test_the_report_command_writes_it_and_prints_where(project: Settings) -> None:
    result = CliRunner().invoke(app, ["report"])
    assert result.exit_code == 0, result.output
    assert Path(result.output.strip()) == project.reports_dir / "index.html"


def test_quantiles_of_one_value_and_of_many() -> None:
    assert quantile([7.0], 0.99) == 7.0
    assert quantile([float(n) for n in range(1, 101)], 0.5) == pytest.approx(50.5)


def test_online_metrics_and_trials_are_in_step_7(settings: Settings) -> None:
    primary = load_requirements(settings.requirements_file).offline_metrics.primary
    window = {
        "model_version": "2",
        "start": "2026-03-02T10:00:00",
        "end": "2026-03-02T11:00:00",
        "predictions": 1_200,
        "labelled": 900,
        "metrics": {primary: 0.7321, "other": None},
        "mean_label": 0.11,
        "mean_score": 0.12,
        "snapshot_id": None,
    }
    settings.online_metrics_file.parent.mkdir(parents=True, exist_ok=True)
    settings.online_metrics_file.write_text(json.dumps({"windows": [window]}))
    arm = {"arm": "champion", "model_version": "1", "labelled": 450, "value": 0.71}
    trial = {
        "metric": primary,
        "champion": arm,
        "challenger": arm | {"arm": "challenger", "model_version": "2", "value": None},
        "decision": "wait",
        "reason": "each arm needs 500",
        "finished_at": "2026-03-02T12:00:00",
    }
    settings.experiment_reports_dir.mkdir(parents=True)
    (settings.experiment_reports_dir / "20260302T120000Z-v2.json").write_text(json.dumps(trial))
    text = re.sub(r"<[^>]+>", " ", write_system_report(settings).read_text())
    assert "900 served predictions got their label" in text
    assert "900 / 1,200" in text and "0.7321" in text
    assert "v2: n/a" in text and "wait: each arm needs 500" in text
