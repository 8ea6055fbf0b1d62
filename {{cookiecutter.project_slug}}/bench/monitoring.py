"""Monitoring benchmark: drift computation time and peak RSS at 50k, 1M and 5M rows, with the
bounded sample the monitoring flow uses, next to the full computation (the same report on every
row) at 50k and 1M; and whether both give the same verdicts.

For each size, a reference window and two current windows (no drift; covariate drift) are
written to Parquet once, by a subprocess (a child's peak RSS starts at its parent's RSS, so the
parent stays small). Each measurement then runs in its own subprocess: read the windows, run
the comparison, report seconds (read and compare apart), peak RSS, the drifted features and the
action step 1's thresholds give. At alpha 0.05 per column, an undrifted column is flagged by
chance in about one run in three (9 features); the action is what must agree.

    python bench/monitoring.py                   # 50k, 1M, 5M sampled; 50k, 1M full
    python bench/monitoring.py --rows 200000     # chosen sizes only (sampled and full)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import peak_rss_mb

SAMPLED_SIZES = (50_000, 1_000_000, 5_000_000)
FULL_SIZES = (50_000, 1_000_000)
CASES = ("none", "covariate")


def write_windows(directory: Path, rows: int) -> None:
    from {{ cookiecutter.package_name }}.contract import load_contract
    from {{ cookiecutter.package_name }}.data.synthetic import generate_batch
    from {{ cookiecutter.package_name }}.settings import get_settings

    contract = load_contract(get_settings().contract_file)
    for name, seed, drift in (
        ("reference", 1, "none"),
        ("none", 2, "none"),
        ("covariate", 3, "covariate"),
    ):
        frame = generate_batch(rows, seed=seed, drift=drift)  # type: ignore[arg-type]
        frame.drop(columns=[contract.id_column, contract.timestamp_column]).to_parquet(
            directory / f"{name}.parquet"
        )


def measure(directory: Path, case: str, mode: str) -> dict[str, Any]:
    from {{ cookiecutter.package_name }}.contract import load_contract
    from {{ cookiecutter.package_name }}.monitoring.drift import compare, decide
    from {{ cookiecutter.package_name }}.monitoring.windows import read_compact
    from {{ cookiecutter.package_name }}.requirements import load_requirements
    from {{ cookiecutter.package_name }}.settings import get_settings

    settings = get_settings()
    contract = load_contract(settings.contract_file)
    thresholds = load_requirements(settings.requirements_file).drift
    started = time.perf_counter()
    reference = read_compact(directory / "reference.parquet")
    current = read_compact(directory / f"{case}.parquet")
    read = time.perf_counter() - started
    sample_rows = settings.monitoring_sample_rows if mode == "sampled" else len(current)
    started = time.perf_counter()
    _, summary = compare(reference, current, contract, thresholds, sample_rows)
    seconds = time.perf_counter() - started
    return {
        "read_s": round(read, 2),
        "compare_s": round(seconds, 2),
        "peak_rss_mb": round(peak_rss_mb()),
        "drifted": sorted(summary.drifted_features),
        "action": decide(summary, thresholds),
    }


def run_worker(directory: Path, case: str, mode: str) -> dict[str, Any]:
    """`mode` is "write" (the windows, `case` = rows), "sampled" or "full"."""
    completed = subprocess.run(
        [sys.executable, __file__, "--worker", str(directory), case, mode],
        capture_output=True,
        text=True,
        check=False,
        env=os.environ | {"MLSD_PROJECT_DIR": str(directory)},
    )
    if completed.returncode != 0:
        raise RuntimeError(f"worker {case} {mode} failed:\n{completed.stderr}")
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1] or "{}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="*")
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        directory, case, mode = args.worker
        if mode == "write":
            write_windows(Path(directory), int(case))
            print("{}")
        else:
            print(json.dumps(measure(Path(directory), case, mode)))
        return

    sampled_sizes = args.rows or list(SAMPLED_SIZES)
    full_sizes = args.rows or list(FULL_SIZES)
    print(
        f"{'rows/side':>10} {'mode':>8} {'case':>10} {'read s':>7} {'compare s':>9} "
        f"{'peak RSS MB':>11} {'action':>8}  drifted features"
    )
    verdicts: dict[tuple[int, str, str], tuple[list[str], str]] = {}
    for rows in sorted(set(sampled_sizes) | set(full_sizes)):
        with tempfile.TemporaryDirectory(prefix="mlsd-bench-") as directory:
            run_worker(Path(directory), str(rows), "write")
            modes = [
                m
                for m, sizes in (("sampled", sampled_sizes), ("full", full_sizes))
                if rows in sizes
            ]
            for mode in modes:
                for case in CASES:
                    r = run_worker(Path(directory), case, mode)
                    verdicts[rows, mode, case] = (r["drifted"], r["action"])
                    drifted = ", ".join(r["drifted"]) or "-"
                    print(
                        f"{rows:>10,} {mode:>8} {case:>10} {r['read_s']:>7} {r['compare_s']:>9} "
                        f"{r['peak_rss_mb']:>11,} {r['action']:>8}  {drifted}",
                        flush=True,
                    )
    print()
    # Imported only now: the parent stays small while the measurements run.
    from {{ cookiecutter.package_name }}.data.synthetic import COVARIATE_SHIFTED

    for (rows, mode, case), (full_drifted, full_action) in verdicts.items():
        if mode != "full" or (rows, "sampled", case) not in verdicts:
            continue
        sampled_drifted, sampled_action = verdicts[rows, "sampled", case]
        expected = set(COVARIATE_SHIFTED) if case == "covariate" else set()
        by_chance = sorted(set(sampled_drifted) - expected), sorted(set(full_drifted) - expected)
        agreement = "agrees" if full_action == sampled_action else "DIFFERS"
        print(
            f"{rows:>10,} {case:>10}: action {agreement} ({sampled_action}); shifted columns "
            f"found: sampled {len(expected & set(sampled_drifted))}/{len(expected)}, full "
            f"{len(expected & set(full_drifted))}/{len(expected)}; flagged by chance: sampled "
            f"{by_chance[0]}, full {by_chance[1]}"
        )


if __name__ == "__main__":
    main()
