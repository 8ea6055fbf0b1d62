"""`contract infer`: what it decides on tables of every shape, and what it refuses."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from example_target import TARGET, target_values

from {{ cookiecutter.package_name }}.contract import load_contract
from {{ cookiecutter.package_name }}.contract.column_types import CATEGORY_LIMIT
from {{ cookiecutter.package_name }}.contract.inference import infer_contract
from {{ cookiecutter.package_name }}.contract.tolerance import beyond_tolerance, outside_limits
from {{ cookiecutter.package_name }}.contract.values import InferenceError
from {{ cookiecutter.package_name }}.data.replay import (
    ReplayError,
    already_ingested,
    inject_drift,
    split_for_replay,
)
from {{ cookiecutter.package_name }}.errors import BAD_INPUT
from worked_example import ROLES, role_columns

ROWS = 400
ROLE_OPTIONS = [part for role, column in ROLES.items() for part in (f"--{role}", column)]


def table(seed: int = 0, rows: int = ROWS) -> pd.DataFrame:
    """A made-up table: five features of every type, the task's own target, and the columns
    the task needs beside them (a ranking's query)."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            **role_columns(rows, seed),
            "Température (°C)": rng.normal(20, 5, rows),
            "visits-per week": rng.integers(0, 12, rows),
            "plan.type": rng.choice(["free", "pro", "team"], rows),
            "is member": rng.random(rows) < 0.5,
            "1st score": rng.uniform(0, 1, rows),
            TARGET: target_values(rng, rows),
        }
    )


def test_types_roles_and_margins_of_a_plain_table(tmp_path: Path) -> None:
    frame = table()
    inferred = infer_contract(frame, target=TARGET, name="churn", **ROLES)
    contract = inferred.contract
    given = [name for name in frame.columns if name not in (TARGET, *ROLES.values())]
    assert [c.name for c in contract.features] == given
    assert contract.target.name == TARGET
    types = {c.name: c.type for c in contract.features}
    assert types == {
        "Température (°C)": "float",
        "visits-per week": "int",
        "plan.type": "category",
        "is member": "bool",
        "1st score": "float",
    }
    assert contract.column("plan.type").values == ("free", "pro", "team")
    temperature = contract.column("Température (°C)")
    # Hard limits only where the data shows a physical bound: none of these was negative.
    assert (temperature.min, temperature.max) == (0.0, None)
    assert "hard minimum 0" in " ".join(inferred.review)  # a person checks it
    # The expected range: the 1st-99th percentiles widened by half their span on each side.
    q_low, q_high = frame["Température (°C)"].quantile([0.01, 0.99])
    expected = temperature.expected
    assert expected is not None and expected.max is not None
    assert q_high < expected.max <= q_high + 0.51 * (q_high - q_low)
    # Widened below the hard minimum, so that side says nothing more and is left out.
    assert q_low - 0.5 * (q_high - q_low) < 0 and expected.min is None
    assert contract.column("visits-per week").min == 0  # never negative when none was
    score = contract.column("1st score")
    assert (score.min, score.max) == (0.0, None)  # maybe a share: the reviewer is told
    assert "add `max: 1`" in inferred.notes["1st score"]
    assert "percentiles 1%-99%" in inferred.notes["1st score"]  # says which rule it used

    # The YAML is a contract, equal to the one inferred, and a second sample passes it.
    path = tmp_path / "contract.yaml"
    path.write_text(inferred.to_yaml("churn.csv"), encoding="utf-8")
    assert load_contract(path) == contract
    again = table(seed=1)
    assert not any(outside_limits(again, contract).values())
    assert not beyond_tolerance(again, contract)


def test_two_numbers_are_a_bool_or_a_category_and_calendar_parts_get_its_limits() -> None:
    frame = table()
    rng = np.random.default_rng(3)
    frame["smoker (0/1)"] = rng.integers(0, 2, ROWS)
    frame["sex"] = rng.choice([1, 2], ROWS)
    frame["seen at"] = pd.date_range("2026-01-05", periods=ROWS, freq="7min")
    frame["hour"] = frame["seen at"].dt.hour
    frame["weekday"] = frame["seen at"].dt.dayofweek
    inferred = infer_contract(frame, target=TARGET, name="t", timestamp="seen at", **ROLES)
    contract = inferred.contract
    assert contract.column("smoker (0/1)").type == "bool"
    sex = contract.column("sex")
    assert (sex.type, sex.values) == ("int", (1, 2))
    assert "not a continuous number" in inferred.notes["sex"]
    # Two days of data hold Monday and Tuesday only: the calendar gives the limits.
    assert frame["weekday"].nunique() == 2
    weekday = contract.column("weekday")
    assert (weekday.min, weekday.max, weekday.expected) == (0, 6, None)
    assert (contract.column("hour").min, contract.column("hour").max) == (0, 23)
    assert "day of the week" in inferred.notes["weekday"]


def test_awkward_columns_are_ignored_and_reported() -> None:
    frame = table()
    frame["empty"] = np.nan
    frame["constant"] = 7
    frame["note"] = [f"free text {i}" for i in range(ROWS)]
    frame["mixed"] = np.where(np.arange(ROWS) % 2, "12", "n/a")
    frame["gaps"] = frame["1st score"].where(np.arange(ROWS) % 10 > 0)
    inferred = infer_contract(frame, target=TARGET, name="t", **ROLES)
    contract = inferred.contract
    assert contract.column("empty").role == "ignored" and contract.column("empty").nullable
    assert contract.column("constant").role == "ignored"
    note = contract.column("note")
    assert (note.role, note.type) == ("ignored", "string")
    assert "pass --id" in inferred.notes["note"]
    assert contract.column("mixed").type == "category"
    assert "numbers and the rest text" in inferred.notes["mixed"]
    assert contract.column("gaps").nullable and contract.column("gaps").role == "feature"
    reviewed = " ".join(inferred.review)
    assert all(name in reviewed for name in ("empty", "constant", "note", "mixed"))


def test_many_distinct_strings_are_not_a_category() -> None:
    frame = table(rows=2_000)
    frame["city"] = [f"city {i % (CATEGORY_LIMIT + 1)}" for i in range(2_000)]
    contract = infer_contract(frame, target=TARGET, name="t", **ROLES).contract
    assert contract.column("city").role == "ignored"


def test_id_and_timestamp() -> None:
    frame = table()
    frame["customer"] = [f"c-{i}" for i in range(ROWS)]
    frame["seen at"] = pd.date_range("2026-01-01", periods=ROWS, freq="h").strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    contract = infer_contract(
        frame, target=TARGET, name="t", id_column="customer", timestamp="seen at", **ROLES
    ).contract
    assert contract.id_column == "customer" and contract.timestamp_column == "seen at"


@pytest.mark.parametrize(
    ("change", "roles", "message"),
    [
        (
            lambda f: f.assign(**{TARGET: f[TARGET].where(f.index > 0)}),
            {},
            "missing in 1 of 400 rows",
        ),
        (lambda f: f, {"id_column": "plan.type"}, "the id 'plan.type' repeats"),
        (lambda f: f, {"timestamp": "plan.type"}, "does not parse as dates and times"),
        (lambda f: f, {"target": "nope"}, "--target 'nope' is not a column"),
        (lambda f: f.rename(columns={"1st score": "score"}), {}, "rename them in the table"),
        (lambda f: f[[TARGET, *ROLES.values()]].assign(k=1), {}, "no column can be a feature"),
        (lambda f: f.iloc[:0], {}, "no rows"),
    ],
)
def test_what_cannot_be_inferred_is_refused_in_one_sentence(
    change: object, roles: dict[str, str], message: str
) -> None:
    frame = change(table())  # type: ignore[operator]
    arguments = {"target": TARGET} | ROLES | roles
    with pytest.raises(InferenceError, match=message.replace("(", r"\(").replace(")", r"\)")):
        infer_contract(frame, name="t", **arguments)


def test_the_command_refuses_with_exit_2_and_writes_nothing(tmp_path: Path) -> None:
    source = tmp_path / "unlabelled.csv"
    table().assign(**{TARGET: None}).to_csv(source, index=False)
    output = tmp_path / "contract.yaml"
    cli = str(Path(sys.executable).with_name("{{ cookiecutter.project_slug }}"))
    infer = [cli, "contract", "infer", str(source), "--target", TARGET, *ROLE_OPTIONS]
    infer += ["--output", str(output)]
    result = subprocess.run(infer, capture_output=True, text=True, check=False)
    assert result.returncode == BAD_INPUT, result.stderr
    assert "missing in 400 of 400 rows" in result.stderr and "Traceback" not in result.stderr
    assert not output.exists() and not (tmp_path / "requirements.yaml").exists()

    output.write_text("# mine\n")
    table().to_csv(source, index=False)
    again = subprocess.run(infer, capture_output=True, text=True, check=False)
    assert again.returncode == BAD_INPUT and "pass --force" in again.stderr
    assert output.read_text() == "# mine\n"


def test_replay_windows_and_drift_stay_inside_the_contract() -> None:
    frame = table(rows=2_000)
    contract = infer_contract(frame, target=TARGET, name="t", **ROLES).contract
    parts = split_for_replay(frame, contract, min_window_rows=300, seed=1)
    assert (len(parts.reference), len(parts.live), len(parts.drifted)) == (1_200, 400, 400)
    assert parts.live.equals(frame.iloc[1_200:1_600].reset_index(drop=True))  # file order
    drifted = parts.drifted
    original = frame.iloc[1_600:].reset_index(drop=True)
    assert (drifted[TARGET] == original[TARGET]).all()  # labels are kept
    assert drifted["Température (°C)"].mean() > original["Température (°C)"].mean() + 2
    # Inside the hard limits, and within the tolerance of the expected ranges: stored.
    assert not any(outside_limits(drifted, contract).values())
    assert not beyond_tolerance(drifted, contract)
    assert set(drifted["plan.type"]) <= set(contract.column("plan.type").values or ())
    assert inject_drift(original, contract, parts.reference, seed=1).equals(drifted)  # seeded
    with pytest.raises(ReplayError, match="the loop needs"):
        split_for_replay(frame.head(500), contract, min_window_rows=300, seed=1)


def test_a_contract_from_several_batches_named_after_the_table_and_its_diff(
    tmp_path: Path,
) -> None:
    """Infer from the first batch, again from a folder of three, and diff the two: the
    contract is named after the table, not its first file, and the diff names each change
    and the version it implies."""
    cli = str(Path(sys.executable).with_name("{{ cookiecutter.project_slug }}"))
    batches = tmp_path / "batches"
    batches.mkdir()
    for seed in range(3):
        table(seed=seed).to_csv(batches / f"members_b{seed + 1}.csv", index=False)
    first, every = tmp_path / "first.yaml", tmp_path / "every.yaml"
    common = ["--target", TARGET, *ROLE_OPTIONS, "--requirements", str(tmp_path / "r.yaml")]
    one = [cli, "contract", "infer", str(batches / "members_b1.csv"), *common, "--force"]
    done = subprocess.run([*one, "--output", str(first)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "contract 'members'" in done.stdout and "(--name to choose another)" in done.stdout
    folder = [cli, "contract", "infer", str(batches), *common, "--force", "--name", "club"]
    done = subprocess.run([*folder, "--output", str(every)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert f"{3 * ROWS} rows from 3 files" in done.stdout
    assert load_contract(first).name == "members" and load_contract(every).name == "club"
    assert load_contract(every).description.startswith(f"Inferred from {3 * ROWS} rows")

    diff = subprocess.run(
        [cli, "contract", "diff", str(first), str(every)], capture_output=True, text=True
    )
    assert diff.returncode == 0, diff.stderr
    assert "contract: name 'members' -> 'club' (narrowed)" in diff.stdout
    assert "Température (°C): expected" in diff.stdout and "(expectation)" in diff.stdout
    assert "Implied version: 2" in diff.stdout and "set `version: 2`" in diff.stdout


def test_the_diff_tells_narrowed_widened_and_expectations_apart() -> None:
    from {{ cookiecutter.package_name }}.contract.diff import diff_contracts

    old = infer_contract(table(), target=TARGET, name="t", **ROLES).contract
    columns = {c.name: c for c in old.columns}
    visits = columns["visits-per week"].model_copy(update={"min": 1.0})
    plan = columns["plan.type"].model_copy(update={"values": ("free", "pro", "team", "vip")})
    score = columns["1st score"].model_copy(update={"description": "the first score"})
    replaced = {c.name: c for c in (visits, plan, score)}
    new = old.model_copy(update={"columns": tuple(replaced.get(c.name, c) for c in old.columns)})
    kinds = {(c.where, c.kind) for c in diff_contracts(old, new).changes}
    assert kinds == {
        ("visits-per week", "narrowed"),
        ("plan.type", "widened"),
        ("1st score", "expectation"),
    }
    assert diff_contracts(old, new).implied_version == 2
    described = old.model_copy(
        update={"columns": tuple(score if c.name == score.name else c for c in old.columns)}
    )
    assert diff_contracts(old, described).implied_version == 1  # a description needs none


def test_rows_already_ingested_are_counted_before_a_replay(tmp_path: Path) -> None:
    frame = table(rows=1_000)
    validated = tmp_path / "validated"
    assert already_ingested(frame, validated) == 0  # nothing stored yet
    validated.mkdir()
    frame.iloc[100:400].to_parquet(validated / "batch-a.parquet", index=False)
    frame[["1st score"]].to_parquet(validated / "other-table.parquet", index=False)
    assert already_ingested(frame, validated) == 300
    assert already_ingested(table(seed=5, rows=1_000), validated) == 0
