"""Bring-your-own-data benchmark: a user's path, command by command, in fresh projects, on a
table with awkward column names (spaces, dashes, accents), string classes, a gappy column, no
id and no timestamp; or on your own table.

    python bench/your_own_data.py                                  # a generated table
    python bench/your_own_data.py --table churn.csv --target churned [--positive left]

Prints each command's wall time (process start to exit: imports and the command's own Prefect
server included) and exit code. Serving is measured by `bench/serving.py`.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import {{ cookiecutter.package_name }}
from {{ cookiecutter.package_name }}.contract import load_contract
from {{ cookiecutter.package_name }}.contract.target import TASK
from {{ cookiecutter.package_name }}.data.batches import read_batch
from {{ cookiecutter.package_name }}.data.replay import inject_drift
from harness import project_environment

CLI = [sys.executable, "-m", {{ cookiecutter.package_name }}.__name__]
ENV_FILE = "MLSD_CONTRACT_FILE=contract.yaml\nMLSD_REQUIREMENTS_FILE=requirements.yaml\n"


def generated_table(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    width = rng.normal(10, 2, rows)
    load = rng.gamma(3, 4, rows)
    load[rng.random(rows) < 0.05] = np.nan
    zone = rng.choice(["nord", "sud", "est"], rows, p=[0.5, 0.3, 0.2])
    signal = -3 + 0.25 * width + 0.03 * np.nan_to_num(load, nan=12) + (zone == "sud")
    if TASK == "regression":  # the outcome is a quantity, rising with the signal
        outcome: np.ndarray = np.round(np.exp(0.5 * signal) * rng.gamma(4, 2, rows), 2)
    elif TASK == "ranking":  # the outcome is a grade 0-2, higher as the signal rises
        outcome = np.clip(np.round(signal + rng.normal(0, 0.8, rows)), 0, 2).astype(int)
    else:  # the outcome is a class, more often "fail" as the signal rises
        outcome = np.where(rng.random(rows) < 1 / (1 + np.exp(-signal)), "fail", "pass")
    table = pd.DataFrame(
        {
            "largeur (cm)": width.round(2),
            "load-factor": load.round(2),
            "zône": zone,
            "late?": np.where(rng.random(rows) < 0.3, "true", "false"),
            "outcome": outcome,
        }
    )
    if TASK == "ranking":  # each row answers a query: ten rows to a visit
        table.insert(0, "visite", [f"v{row // 10}" for row in range(rows)])
    return table


def timed(project: Path, *arguments: str) -> tuple[str, float, int]:
    started = time.perf_counter()
    completed = subprocess.run(
        [*CLI, *arguments],
        cwd=project,
        env=project_environment(str(project)),
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        print(completed.stderr[-2000:], file=sys.stderr)
    return " ".join(arguments), seconds, completed.returncode


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--table", type=Path, help="CSV or Parquet (default: a generated one)")
    parser.add_argument("--target", default="outcome")
    parser.add_argument("--positive", help="the target's positive class, when not obvious")
    parser.add_argument("--group", help="ranking: the query column (default: the generated one)")
    parser.add_argument("--rows", type=int, default=6_000, help="rows of the generated table")
    options = parser.parse_args()
    rows: list[tuple[str, float, int]] = []
    with tempfile.TemporaryDirectory(prefix="mlsd-bench-") as folder:
        project, fresh = Path(folder) / "project", Path(folder) / "fresh"
        project.mkdir()
        fresh.mkdir()
        table = options.table.resolve() if options.table else project / "my table.csv"
        if options.table is None:
            generated_table(options.rows).to_csv(table, index=False)
        infer = ["contract", "infer", str(table), "--target", options.target]
        default = "fail" if options.table is None and TASK == "binary_classification" else None
        positive = options.positive or default
        group = options.group or ("visite" if options.table is None and TASK == "ranking" else None)
        infer += ["--positive", positive] if positive else []
        rows.append(timed(project, *infer, *(["--group", group] if group else [])))
        (project / ".env").write_text(ENV_FILE)
        rows.append(timed(project, "ingest", "--source", str(table)))
        rows.append(timed(project, "train"))
        contract = load_contract(project / "contract.yaml")
        frame = read_batch(table, contract)
        unlabelled, shifted = project / "unlabelled.csv", project / "shifted.csv"
        frame.drop(columns=contract.target.name).head(500).to_csv(unlabelled, index=False)
        later = frame.tail(len(frame) // 2).reset_index(drop=True)
        inject_drift(later, contract, frame, seed=1).to_csv(shifted, index=False)
        rows.append(timed(project, "score", str(unlabelled)))
        rows.append(timed(project, "monitor", "--source", str(shifted)))
        for name in ("contract.yaml", "requirements.yaml", ".env"):
            (fresh / name).write_bytes((project / name).read_bytes())
        rows.append(timed(fresh, "loop", "--source", str(table)))
        shown = [(command.replace(f"{project}/", ""), s, code) for command, s, code in rows]
    width = max(len(command) for command, _, _ in shown)
    print(f"{'command':<{width}}  {'wall':>7}  exit")
    for command, seconds, code in shown:
        print(f"{command:<{width}}  {seconds:5.1f} s  {code}")


if __name__ == "__main__":
    main()
