"""The system report, `reports/index.html`: the page to open first. The 7 steps, each with its
key facts and links to every artifact and UI, in one self-contained file (inline CSS and SVG,
no script, nothing fetched), so it opens from disk, offline, in any browser.

It reads only what the steps already write: the requirements and the contract, the ingestion,
monitoring and prediction logs, each training run's report folder, and the registry's aliases.
The loop writes it, each flow refreshes it, and `report` writes it on demand.
"""

from __future__ import annotations

import functools
import html
import json
import logging
import os
import re
import statistics
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .contract import DataContract, load_contract
from .data.batches import read_jsonl
from .requirements import SystemRequirements, load_requirements
from .serving.prediction_log import read_chunks
from .settings import Settings, get_settings

# Latency figures come from the newest prediction-log records only: the log grows without end.
LATENCY_TAIL_BYTES = 4_000_000
RECENT_ROWS = 12


def write_system_report(settings: Settings) -> Path:
    """Write `reports/index.html` (atomically: a reader never sees half a page)."""
    page = render(settings)
    target = settings.reports_dir / "index.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".index.html.{os.getpid()}")
    partial.write_text(page, encoding="utf-8")
    partial.replace(target)
    return target


def refresh_after_run(flow: object, flow_run: object, state: object) -> None:
    """A Prefect flow hook (on completion and on failure): each flow leaves the report current.
    The report is a view of the other artifacts, so failing to write it never fails a flow."""
    try:
        write_system_report(get_settings())
    except Exception as error:
        logging.getLogger(__name__).warning(
            "system report not refreshed: %s: %s", type(error).__name__, error
        )


def e(value: object) -> str:
    return html.escape(str(value))


def link(target: Path | str, text: str, base: Path) -> str:
    """A link relative to the report's folder (the page moves with the project), or a URL."""
    if isinstance(target, Path):
        if not target.exists():
            return f"{e(text)} <span class=muted>(none yet)</span>"
        href = os.path.relpath(target, base)
    else:
        href = target
    return f'<a href="{e(href)}">{e(text)}</a>'


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    if not rows:
        return "<p class=muted>nothing yet</p>"
    head = "".join(f"<th>{e(cell)}</th>" for cell in header)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def line_chart(
    title: str, labels: Sequence[str], values: Sequence[float], rules: dict[str, float]
) -> str:
    """An inline SVG line chart of `values` (one point per label), with horizontal `rules`
    (thresholds) drawn and named."""
    if not values:
        return ""
    width, height, left, right, top, bottom = 560, 220, 48, 110, 24, 36
    span = [*values, *rules.values()]
    low, high = min(span), max(span)
    pad = (high - low) * 0.1 or abs(high) * 0.1 or 1.0
    low, high = low - pad, high + pad

    def x(i: int) -> float:
        steps = max(len(values) - 1, 1)
        return left + (width - left - right) * (i / steps if len(values) > 1 else 0.5)

    def y(value: float) -> float:
        return top + (height - top - bottom) * (high - value) / (high - low)

    parts = [
        f'<svg role="img" aria-label="{e(title)}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}">',
        f'<text x="{left}" y="14" class="title">{e(title)}</text>',
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" '
        'class="axis"/>',
    ]
    for name, value in rules.items():
        parts.append(
            f'<line x1="{left}" y1="{y(value):.1f}" x2="{width - right}" y2="{y(value):.1f}" '
            f'class="rule"/><text x="{width - right + 4}" y="{y(value) + 4:.1f}" class="rule">'
            f"{e(name)} {value:g}</text>"
        )
    points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
    parts.append(f'<polyline points="{points}" class="series"/>')
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        parts.append(
            f'<circle cx="{x(i):.1f}" cy="{y(value):.1f}" r="3.5" class="point">'
            f"<title>{e(label)}: {value:.4g}</title></circle>"
            f'<text x="{x(i):.1f}" y="{height - bottom + 16}" class="label">{e(label)}</text>'
        )
    parts.append(
        f'<text x="{left - 6}" y="{y(high - pad) + 4:.1f}" class="tick">{high - pad:.3g}</text>'
        f'<text x="{left - 6}" y="{y(low + pad) + 4:.1f}" class="tick">{low + pad:.3g}</text>'
    )
    return "".join(parts) + "</svg>"


def training_runs(settings: Settings) -> list[dict[str, Any]]:
    """Each training run's report folder, oldest first: its metrics, decision and version (from
    the model card's title, `# Model card: NAME vN`)."""
    runs = []
    for folder in sorted(settings.training_reports_dir.glob("*/")):
        metrics_file, card = folder / "metrics.json", folder / "model_card.md"
        if not (metrics_file.is_file() and card.is_file()):
            continue  # a run that stopped before registering
        title = card.read_text(encoding="utf-8").partition("\n")[0]
        version = re.search(r" v(\d+)$", title)
        runs.append(
            json.loads(metrics_file.read_text(encoding="utf-8"))
            | {"version": version.group(1) if version else "?", "folder": folder, "card": card}
        )
    return runs


def recent_predictions(path: Path) -> list[dict[str, Any]]:
    """The newest prediction-log records (a bounded read from the end, across the log's
    segments; bad lines skipped)."""
    chunks = read_chunks(path, 0, newest_bytes=LATENCY_TAIL_BYTES)
    lines = [line for chunk in chunks for line in chunk.data.splitlines()]
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except ValueError:
            continue
    return records


def quantile(values: Sequence[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


Section = tuple[str, str]  # a step's title and its HTML


def render(settings: Settings) -> str:
    """The page: one section per step, each reading the files its step writes."""
    requirements = load_requirements(settings.requirements_file)
    contract = load_contract(settings.contract_file)
    base = settings.reports_dir
    runs = training_runs(settings)
    sections = [
        requirements_section(settings, requirements, base),
        contract_section(settings, contract, base),
        data_section(settings, base),
        model_selection_section(settings, runs),
        training_section(settings, requirements, runs, base),
        serving_section(settings, requirements, base),
        monitoring_section(settings, requirements, base),
    ]
    return page(contract.name, sections)


def page(name: str, sections: Sequence[Section]) -> str:
    body = "".join(
        f'<section id="step-{i}"><h2>{e(title)}</h2>{content}</section>'
        for i, (title, content) in enumerate(sections, start=1)
    )
    written = datetime.now(UTC).isoformat(timespec="seconds")
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{e(name)}: system report</title><style>{STYLE}</style></head><body>"
        f"<h1>System report</h1><p class=muted>Written {e(written)} from the project's files; "
        "each flow refreshes it.</p>"
        f"{body}</body></html>"
    )


def metric_bounds(requirements: SystemRequirements, name: str) -> str:
    """Step 1's threshold on an offline metric, as text (">= 0.7"); "" when it has none."""
    threshold = requirements.offline_metrics.thresholds.get(name)  # type: ignore[call-overload]
    if threshold is None:
        return ""
    low = [f">= {threshold.min:g}"] if threshold.min is not None else []
    high = [f"<= {threshold.max:g}"] if threshold.max is not None else []
    return " and ".join(low + high)


def requirements_section(
    settings: Settings, requirements: SystemRequirements, base: Path
) -> Section:
    offline = requirements.offline_metrics
    primary = offline.primary
    bounds = functools.partial(metric_bounds, requirements)
    return (
        "1. Requirements",
        f"<p>{e(requirements.business_goal)}</p><p>{e(requirements.ml_objective)}</p>"
        + table(
            ["objective", "value"],
            [
                ["primary offline metric", f"<b>{e(primary)}</b> {e(bounds(primary))}"],
                *[[e(name), e(bounds(name))] for name in offline.thresholds if name != primary],
                ["serving p99 latency budget", f"{requirements.serving.p99_latency_ms:g} ms"],
                [
                    "drift: alert / retrain at a drifted share of",
                    f"{requirements.drift.alert_drift_share:g} / "
                    f"{requirements.drift.retrain_drift_share:g}",
                ],
            ],
        )
        + f"<p>{link(settings.requirements_file, 'requirements.yaml', base)}</p>",
    )


def contract_section(settings: Settings, contract: DataContract, base: Path) -> Section:
    features = ", ".join(e(column.name) for column in contract.features)
    return (
        "2. Inputs and outputs",
        f"<p>Contract <b>{e(contract.name)}</b> v{e(contract.version)}: target "
        f"<code>{e(contract.target.name)}</code>; features {features}.</p>"
        f"<p>{link(settings.contract_file, 'contract.yaml', base)}</p>",
    )


def data_section(settings: Settings, base: Path) -> Section:
    ingestions = read_jsonl(settings.ingestion_log)
    by_status = Counter(str(run.get("status")) for run in ingestions)
    validated_rows = sum(int(r["rows"] or 0) for r in ingestions if r["status"] == "validated")
    return (
        "3. Data",
        f"<p>{by_status.get('validated', 0)} batches validated ({validated_rows:,} rows), "
        f"{by_status.get('rejected', 0)} rejected (quarantined), "
        f"{sum(n for s, n in by_status.items() if s not in {'validated', 'rejected'})} "
        f"other (duplicate, unreadable). "
        f"{link(settings.data_docs_dir / 'index.html', 'Data Docs', base)} (Great Expectations)"
        "</p>"
        + table(
            ["finished", "batch", "status", "rows", "first failures", "within tolerance"],
            [
                [
                    e(str(run.get("finished_at", ""))[:19]),
                    e(run.get("batch_id", "")),
                    e(run.get("status", "")),
                    e(run.get("rows", "")),
                    e("; ".join(str(f) for f in (run.get("failures") or [])[:2])),
                    e("; ".join(str(w) for w in (run.get("warnings") or [])[:2])),
                ]
                for run in ingestions[-RECENT_ROWS:]
            ],
        ),
    )


def model_selection_section(settings: Settings, runs: list[dict[str, Any]]) -> Section:
    from .modeling import chosen_model

    candidates = sorted({str(run.get("model_name")) for run in runs} | {chosen_model(settings)})
    return (
        "4. Model selection",
        f"<p>Candidates trained so far: {e(', '.join(candidates))}; the next run fits "
        f"<code>{e(chosen_model(settings))}</code> (<code>MLSD_MODEL_NAME</code>).</p>",
    )


def training_section(
    settings: Settings,
    requirements: SystemRequirements,
    runs: list[dict[str, Any]],
    base: Path,
) -> Section:
    from .training.registry_status import registry_status

    offline = requirements.offline_metrics
    primary = offline.primary
    registry = registry_status(settings)
    champion = registry.get("champion") or {}
    values = [float(run["metrics"].get(primary, float("nan"))) for run in runs]
    threshold = offline.thresholds.get(primary)
    rules = {}
    if threshold is not None and threshold.min is not None:
        rules["threshold"] = threshold.min
    if threshold is not None and threshold.max is not None:
        rules["threshold"] = threshold.max
    chart = line_chart(
        f"{primary} on each run's holdout", [f"v{run['version']}" for run in runs], values, rules
    )
    return (
        "5. Training and evaluation",
        f"<p>Registry <code>{e(registry.get('registered_model'))}</code> at "
        f"<code>{e(registry.get('tracking_uri'))}</code>: {registry.get('versions', 0)} "
        f"versions; champion <b>{e('v' + champion['version'] if champion else 'none yet')}"
        f"</b>{e(' (gate ' + str(champion.get('gate')) + ')') if champion else ''}. "
        f"Browse runs with <code>make mlflow-ui</code> (http://127.0.0.1:5000).</p>"
        + chart
        + table(
            ["version", "candidate", primary, "gate", "why", "model card"],
            [
                [
                    f"v{e(run['version'])}",
                    e(run.get("model_name")),
                    f"{value:.4f}",
                    "promote" if run["decision"]["promote"] else "keep champion",
                    e("; ".join(run["decision"]["reasons"])),
                    link(run["card"], "model_card.md", base),
                ]
                for run, value in zip(runs, values, strict=True)
            ][::-1],
        ),
    )


def serving_section(settings: Settings, requirements: SystemRequirements, base: Path) -> Section:
    predictions = recent_predictions(settings.prediction_log)
    latencies = [float(r["latency_ms"]) for r in predictions if "latency_ms" in r]
    served = Counter(str(r.get("model_version")) for r in predictions)
    budget = requirements.serving.p99_latency_ms
    latency = (
        f"Request latency over the last {len(latencies):,} logged records: p50 "
        f"{quantile(latencies, 0.5):.1f} ms, p99 {quantile(latencies, 0.99):.1f} ms "
        f"(budget {budget:g} ms)"
        if latencies
        else "no prediction logged yet"
    )
    service = f"http://{settings.serve_host}:{settings.serve_port}"
    return (
        "6. Serving",
        f"<p>{e(latency)}. Versions that answered them: "
        f"{e(', '.join(f'v{v}: {n:,}' for v, n in sorted(served.items())) or 'none')}.</p>"
        f"<p>{link(settings.prediction_log, 'prediction log', base)}; the service's API docs "
        "while it runs (<code>make serve</code>): "
        f"{link(f'{service}/', f'{service}/', base)}</p>",
    )


def monitoring_section(settings: Settings, requirements: SystemRequirements, base: Path) -> Section:
    monitoring = read_jsonl(settings.monitoring_log)
    judged = [run for run in monitoring if run.get("summary")]
    drift_chart = line_chart(
        "share of drifted features per monitoring run",
        [str(run.get("finished_at", ""))[5:16].replace("T", " ") for run in judged],
        [float(run["summary"]["drift_share"]) for run in judged],
        {
            "alert": requirements.drift.alert_drift_share,
            "retrain": requirements.drift.retrain_drift_share,
        },
    )
    retrains = [run for run in monitoring if run.get("retrained")]
    last_retrain = (
        f"Last retrain: {e(str(retrains[-1].get('finished_at', ''))[:19])}, on drifted "
        f"{e(', '.join(retrains[-1]['summary']['drifted_features']))}; promoted: "
        f"{e(retrains[-1]['retrained'].get('promoted'))}."
        if retrains
        else "No retrain yet."
    )
    return (
        "7. Monitoring",
        f"<p>{len(monitoring)} monitoring runs. {last_retrain} Dashboard: "
        "<code>make dashboard</code> (http://127.0.0.1:"
        f"{settings.dashboard_port}).</p>"
        + drift_chart
        + table(
            ["finished", "champion", "drift share", "drifted", "action", "report"],
            [
                [
                    e(str(run.get("finished_at", ""))[:19]),
                    e(f"v{run.get('champion')}"),
                    e(f"{run['summary']['drift_share']:.2f}") if run.get("summary") else "",
                    e(", ".join((run.get("summary") or {}).get("drifted_features", []))),
                    e(run.get("action", "")),
                    link(Path(run["report"]), "drift report", base)
                    if Path(str(run.get("report"))).is_file()
                    else "",
                ]
                for run in monitoring[-RECENT_ROWS:]
            ][::-1],
        )
        + online_section(settings, requirements, base),
    )


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object written by a flow, or None when it cannot be read."""
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def shown(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def online_section(settings: Settings, requirements: SystemRequirements, base: Path) -> str:
    """Online metrics per model version and window (labels joined to served predictions), and
    the trials' verdicts."""
    primary = requirements.offline_metrics.primary
    watched = list(dict.fromkeys([primary, *requirements.online_metrics.thresholds]))
    metrics_file = settings.online_metrics_file
    rows: list[dict[str, Any]] = []
    if metrics_file.is_file():
        try:
            rows = json.loads(metrics_file.read_text(encoding="utf-8"))["windows"]
        except (OSError, ValueError, KeyError, TypeError):
            rows = []  # the next labels run rewrites it
    labels_runs = read_jsonl(settings.labels_log)
    html = (
        f"<h3>Online metrics</h3><p>{len(labels_runs)} labels arrivals; "
        f"{sum(row['labelled'] for row in rows):,} served predictions got their label. "
        f"{link(metrics_file, 'online metrics', base) if rows else 'None measured yet.'}</p>"
    )
    if rows:
        html += table(
            ["model", "window from", "labelled / served", *watched, "mean label", "mean score"],
            [
                [
                    e(f"v{row['model_version']}"),
                    e(row["start"][:16].replace("T", " ")),
                    e(f"{row['labelled']:,} / {row['predictions']:,}"),
                    *(e(shown(row["metrics"].get(name))) for name in watched),
                    e(f"{row['mean_label']:.4f}"),
                    e(f"{row['mean_score']:.4f}"),
                ]
                for row in rows[-RECENT_ROWS:]
            ][::-1],
        )
    trials = sorted(settings.experiment_reports_dir.glob("*.json"))
    html += f"<h3>Trials</h3><p>Rollout: {e(requirements.experiment.rollout)}.</p>"
    if trials:
        html += table(
            ["analysed", "metric", "champion", "challenger", "decision", "report"],
            [
                [
                    e(str(found.get("finished_at", ""))[:19]),
                    e(found["metric"]),
                    *(
                        e(f"v{found[arm]['model_version']}: {shown(found[arm]['value'])}")
                        for arm in ("champion", "challenger")
                    ),
                    e(f"{found['decision']}: {found['reason']}"),
                    link(path.with_suffix(".md"), "report", base),
                ]
                for path in trials[-RECENT_ROWS:][::-1]
                if (found := read_json(path)) is not None
            ],
        )
    return html


STYLE = """
body{font:15px/1.45 system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;
color:#1d232b}
h1{margin-bottom:.2rem}h2{border-bottom:1px solid #d6dbe1;padding-bottom:.2rem;margin-top:2rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:13px}
th,td{border:1px solid #d6dbe1;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f1f4f7}.muted{color:#66707c}code{background:#f1f4f7;padding:0 .2rem}
svg{display:block;margin:.6rem 0}svg .title{font-size:13px;font-weight:600}
svg .axis{stroke:#9aa3ad}svg .rule{stroke:#c0392b;stroke-dasharray:4 3;fill:#c0392b;
font-size:11px}
svg .series{fill:none;stroke:#2563eb;stroke-width:2}svg .point{fill:#2563eb}
svg .label,svg .tick{font-size:10px;fill:#66707c}svg .label{text-anchor:middle}
svg .tick{text-anchor:end}
"""
