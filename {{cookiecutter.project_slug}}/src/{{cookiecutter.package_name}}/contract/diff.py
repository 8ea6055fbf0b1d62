"""What changed between two contracts (`contract diff`), and the version it implies.

Three kinds of change, by what they do to data that was valid before:
- `narrowed`: a rule now refuses something it took (a column added or removed, a type or role
  changed, a limit tightened, a value removed, nulls or repeats no longer allowed): batches and
  requests valid under the old version may be refused, and models trained on it may not fit;
- `widened`: a rule takes more than it did (a limit loosened or dropped, a value added, nulls
  allowed): old data stays valid, but what a model may meet changed;
- `expectation`: descriptions, expected ranges, the tolerance, the minimum batch size: nothing
  valid becomes invalid, and no new version is needed.

A narrowed or widened rule implies the next version: the suite is named after it, so Data Docs
keep the two apart, and training records which version a model learned under.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from .spec import Column, DataContract

ChangeKind = Literal["narrowed", "widened", "expectation"]
# Fields that say what a value may be; the rest are descriptions and expectations.
EXPECTATION_FIELDS = ("description", "expected")


@dataclass(frozen=True)
class Change:
    where: str  # a column's name, or "contract"
    what: str
    kind: ChangeKind

    def __str__(self) -> str:
        return f"{self.where}: {self.what} ({self.kind})"


@dataclass(frozen=True)
class ContractDiff:
    old: DataContract
    new: DataContract
    changes: tuple[Change, ...]

    @property
    def implied_version(self) -> int:
        rules_changed = any(change.kind != "expectation" for change in self.changes)
        return self.old.version + 1 if rules_changed else self.old.version

    def summary(self) -> str:
        if not self.changes:
            return f"{self.old.name} v{self.old.version} and the new file are the same contract."
        lines = [f"  - {change}" for change in self.changes]
        implied = self.implied_version
        if implied == self.old.version:
            verdict = f"Implied version: {implied} (expectations only: nothing valid is refused)."
        elif any(change.kind == "narrowed" for change in self.changes):
            verdict = (
                f"Implied version: {implied} (narrowed rules: batches and requests valid under "
                f"v{self.old.version} may now be refused; retrain on data valid under it)."
            )
        else:
            verdict = (
                f"Implied version: {implied} (widened rules: what was valid stays valid; models "
                "may meet values they were not trained on)."
            )
        if self.new.version < implied:
            verdict += f" The new file says version {self.new.version}: set `version: {implied}`."
        return "\n".join([*lines, verdict])


def diff_contracts(old: DataContract, new: DataContract) -> ContractDiff:
    changes: list[Change] = []
    for field in ("name", "min_rows", "tolerance", "description"):
        before, after = getattr(old, field), getattr(new, field)
        if before != after:
            kind: ChangeKind = "narrowed" if field == "name" else "expectation"
            changes.append(Change("contract", f"{field} {before!r} -> {after!r}", kind))
    old_columns = {column.name: column for column in old.columns}
    new_columns = {column.name: column for column in new.columns}
    for name in old_columns.keys() - new_columns.keys():
        changes.append(Change(name, "column removed", "narrowed"))
    for name in new_columns.keys() - old_columns.keys():
        changes.append(Change(name, "column added", "narrowed"))
    for name in (n for n in old_columns if n in new_columns):
        changes.extend(_column_changes(old_columns[name], new_columns[name]))
    order = [c.name for c in new.columns] + [c.name for c in old.columns]
    changes.sort(key=lambda c: -1 if c.where == "contract" else order.index(c.where))
    return ContractDiff(old, new, tuple(changes))


def _column_changes(old: Column, new: Column) -> list[Change]:
    changes = []
    before, after = old.model_dump(), new.model_dump()
    for field, value in before.items():
        if value == after[field]:
            continue
        shown = f"{field} {_shown(value)} -> {_shown(after[field])}"
        changes.append(Change(old.name, shown, _kind(field, value, after[field])))
    return changes


def _kind(field: str, before: Any, after: Any) -> ChangeKind:
    if field in EXPECTATION_FIELDS:
        return "expectation"
    if field in ("min", "max", "max_length"):
        # Dropping a limit widens; so does moving it outward (down for a min, up for the rest).
        outward = before is not None and (after < before if field == "min" else after > before)
        return "widened" if after is None or outward else "narrowed"
    if field == "values":
        if after is None:
            return "widened"
        return "widened" if before is not None and set(before) <= set(after) else "narrowed"
    if field == "nullable":
        return "widened" if after else "narrowed"
    if field == "unique":
        return "narrowed" if after else "widened"
    return "narrowed"  # type, role, level, entity, positive: what the column is


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return "[" + ", ".join("" if v is None else f"{v:g}" for v in value.values()) + "]"
    if isinstance(value, tuple):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return "none" if value is None else str(value)
