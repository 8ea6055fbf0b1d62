"""What the monitoring flow does besides comparing: where the last run stopped, the report
files, the alert hook, telling the service to reload, and the run's record."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evidently.core.report import Snapshot

from ..credentials import service_headers
from ..data.batches import append_jsonl, read_jsonl
from ..processes import http_json
from ..settings import Settings
from .drift import Action, DriftSummary

logger = logging.getLogger(__name__)
PREDICTION_LOG = "prediction_log"


@dataclass(frozen=True)
class MonitoringOutcome:
    window: str
    champion: str
    action: Action
    summary: DriftSummary
    report: str
    snapshot_id: str
    log_offset: int | None
    skipped_lines: int = 0  # prediction-log lines that were not JSON records
    # Share of the window's values outside each column's expected range (served, flagged here);
    # only columns that had any.
    outside_expected: dict[str, float] = field(default_factory=dict)
    retrained: dict[str, Any] | None = None
    service: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    finished_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    def headline(self) -> str:
        drifted = ", ".join(self.summary.drifted_features) or "none"
        text = (
            f"{self.window}: {self.summary.current_rows} rows vs champion v{self.champion}'s "
            f"training data; drifted features {drifted} "
            f"(share {self.summary.drift_share:.2f}); action: {self.action}"
        )
        if self.outside_expected:
            flagged = ", ".join(
                f"{name} {share:.1%}" for name, share in sorted(self.outside_expected.items())
            )
            text += f"; outside the contract's expected ranges: {flagged}"
        if self.retrained is not None:
            if self.retrained.get("batch"):
                text += f"; the judged batch was {self.retrained['batch']}"
            text += f"; retrained: {self.retrained['summary']}"
        if self.service is not None:
            text += f"; service: {self.service}"
        return text + f"\nReport: {self.report}"

    def to_record(self) -> dict[str, Any]:
        return asdict(self)  # recursive: the summary becomes a dict too


def last_offset(monitoring_log: Path) -> int:
    """Where the last judged prediction-log window ended (0 before the first run)."""
    offsets = [
        record["log_offset"]
        for record in read_jsonl(monitoring_log)
        if record["window"] == PREDICTION_LOG and record["action"] != "too_few_rows"
    ]
    return int(offsets[-1]) if offsets else 0


def save_report(snapshot: Snapshot, settings: Settings, window: str) -> Path:
    stem = Path(window).stem  # the batch file's name, or "prediction_log"
    path = settings.monitoring_reports_dir / f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{stem}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    snapshot.save_html(str(path))
    return path


def send_alert(
    outcome_text: str, summary: dict[str, Any], settings: Settings, kind: str = "drift"
) -> None:
    """The alert hook: a warning in the run's log, and a JSON POST to the webhook when one is
    set. A webhook that fails is logged, never fatal: monitoring must finish."""
    logger.warning("%s alert: %s", kind, outcome_text)
    if not settings.alert_webhook_url:
        return
    body = {"text": outcome_text, "kind": kind, "summary": summary}
    try:
        status, answer = http_json(settings.alert_webhook_url, body, timeout=10)
    except OSError as error:
        status, answer = 0, error
    if not 200 <= status < 300:
        logger.error("alert webhook %s failed: %s", settings.alert_webhook_url, answer)


def reload_service(settings: Settings) -> str:
    """Ask the running service to load the new champion now. A service that is not running
    is not an error: when it starts, or within its check interval, it loads the champion."""
    reload_url = settings.reload_url
    try:
        status, answer = http_json(reload_url, {}, timeout=60, headers=service_headers(settings))
    except OSError as error:
        status, answer = 0, error
    if status != 200 or not isinstance(answer, dict):
        return f"not reached at {reload_url} ({answer}); it loads the champion when it next checks"
    return f"serving v{answer.get('version')} (reloaded: {answer.get('changed')})"


def record(outcome: MonitoringOutcome, settings: Settings) -> None:
    append_jsonl([outcome.to_record()], settings.monitoring_log)
