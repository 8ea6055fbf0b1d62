"""The model card: one Markdown page per registered version, written from the training run."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..contract import DataContract
from ..contract.target import output_meaning
from ..requirements import SystemRequirements
from .evaluation import NO_SLICES, PLOTS, card_notes
from .gate import PromotionDecision


@dataclass(frozen=True)
class CardFacts:
    model_label: str  # "<registered name> v<version>"
    model_name: str
    run_id: str
    trained_at: str
    data_version: str
    batches: int
    train_rows: int
    holdout_rows: int
    split: str
    metrics: dict[str, float]
    champion_metrics: dict[str, float] | None
    champion_label: str | None
    slices: list[dict[str, object]]  # one row per slice: `judging.slices_table`
    decision: PromotionDecision
    scoring: str  # how serving scores it: `CompiledCheck.summary`
    time_split: bool = True  # False: a random holdout
    # A task with classes: a row per class (`judging.slices_table` of `Evaluation.classes`)
    # and the confusion matrix.
    classes: list[dict[str, object]] = field(default_factory=list)
    confusion: list[list[int]] = field(default_factory=list)


def _cell(value: object) -> str:
    """A value as a Markdown table cell (a `|` in a category would split the row)."""
    return str(value).replace("|", "\\|")


def _number(value: float | None) -> str:
    return "—" if value is None or math.isnan(value) else f"{value:.4f}"


def _table_value(value: object) -> str:
    """A slice table cell: floats to 4 places, counts as they are, text escaped."""
    if isinstance(value, float):
        return _number(value)
    return _cell(value)


def class_section(facts: CardFacts, contract: DataContract) -> list[str]:
    """Each class by name (the contract's `values`), how well it is found, and the confusion
    matrix; nothing for a task without classes."""
    if not facts.classes:
        return []
    names = [str(label) for label in contract.target.labels]
    header = [name for name in facts.classes[0] if name != "class_index"]
    lines = [
        "",
        "## Per class",
        "How often each class is the truth (support) and the model's answer (predicted), and "
        "how well it is found.",
        "",
        "| class | " + " | ".join(name.replace("_", " ") for name in header) + " |",
        "|---|" + "---|" * len(header),
    ]
    lines += [
        f"| {_cell(names[int(str(row['class_index']))])} | "
        + " | ".join(_table_value(row[name]) for name in header)
        + " |"
        for row in facts.classes
    ]
    if facts.confusion:
        lines += [
            "",
            "Confusion matrix on the holdout: a row per true class, a column per predicted one.",
            "",
            "| true \\ predicted | " + " | ".join(_cell(name) for name in names) + " |",
            "|---|" + "---|" * len(names),
        ]
        lines += [
            f"| {_cell(name)} | " + " | ".join(str(count) for count in row) + " |"
            for name, row in zip(names, facts.confusion, strict=True)
        ]
    return lines


def render_model_card(
    facts: CardFacts, requirements: SystemRequirements, contract: DataContract
) -> str:
    offline = requirements.offline_metrics
    champion = facts.champion_metrics or {}
    lines = [
        f"# Model card: {facts.model_label}",
        "",
        f"**Decision:** {facts.decision.summary()}.",
        "",
        "## Model and data",
        f"- Candidate: `{facts.model_name}` (step 4); MLflow run `{facts.run_id}`, trained "
        f"{facts.trained_at}.",
        f"- Data version `{facts.data_version}`: {facts.batches} validated batch(es) of "
        f"contract `{contract.name}` v{contract.version}.",
        f"- {facts.train_rows} training rows, {facts.holdout_rows} holdout rows; split by "
        f"{facts.split}.",
        f"- Scoring path: {facts.scoring}.",
        f"- Features: {', '.join(f'`{column.name}`' for column in contract.features)}. "
        f"Target: `{contract.target.name}`; a score is {output_meaning(contract)}.",
        "",
        "## Holdout metrics against step 1's thresholds",
        f"Primary metric: `{offline.primary}`. "
        + (
            f"Champion column: {facts.champion_label}, scored on the same holdout."
            if facts.champion_label
            else "There was no champion to compare with."
        ),
        "",
        "| metric | this model | threshold | met | champion |",
        "|---|---|---|---|---|",
    ]
    for name, value in facts.metrics.items():
        threshold = offline.thresholds.get(name)  # type: ignore[call-overload]
        bound = ""
        met = ""
        if threshold is not None:
            parts = []
            if threshold.min is not None:
                parts.append(f">= {threshold.min}")
            if threshold.max is not None:
                parts.append(f"<= {threshold.max}")
            bound = " and ".join(parts)
            met = "no" if threshold.failure(name, value) else "yes"
        lines.append(
            f"| {name} | {_number(value)} | {bound} | {met} | {_number(champion.get(name))} |"
        )
    lines += ["", *card_notes(offline)]
    lines += class_section(facts, contract)
    lines += [
        "",
        "## Slices",
        "A model can meet the thresholds on average and still fail one segment.",
        "",
    ]
    if facts.slices:
        header = list(facts.slices[0])
        lines += [
            "| " + " | ".join(name.replace("_", " ") for name in header) + " |",
            "|" + "---|" * len(header),
        ]
        lines += [
            "| " + " | ".join(_table_value(item[name]) for name in header) + " |"
            for item in facts.slices
        ]
    else:
        lines.append(NO_SLICES)
    judged = (
        "- Judged on the latest rows by time of the data it was given; drift after that is "
        "step 7's to detect."
        if facts.time_split
        else "- Judged on a random holdout (the contract has no timestamp): the metrics say how "
        "it does on rows like its training rows, not on later ones; drift is step 7's to detect."
    )
    lines += [
        "",
        "## Intended use",
        requirements.ml_objective,
        "",
        f"Business goal: {requirements.business_goal}",
        "",
        "## Limits",
        f"- Valid only for inputs that satisfy contract `{contract.name}` v{contract.version}; "
        "categories the contract does not list are encoded as unknown, not learned.",
        judged,
        "- Metrics are on one holdout; only the decision's primary-metric comparison has an "
        "interval (paired bootstrap, above). Small slices are noisy.",
        "",
        f"Plots ({PLOTS}) and `metrics.json` are in the run's `evaluation/` artifacts.",
        "",
    ]
    return "\n".join(lines)
