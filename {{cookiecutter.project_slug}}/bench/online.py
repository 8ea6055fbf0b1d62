"""Online-metrics benchmark: what the labels and experiment flows cost as the prediction log
grows. For each size, a prediction log of that many served records (half answered by each arm
of an A/B test, over a few hours) and a labels file for all of them are written once, by a
subprocess; a second subprocess then times reading the whole log, joining the labels, the
metrics per model version and hour, and the A/B analysis (step 1's bootstrap rounds), and
reports its peak RSS.

    python bench/online.py                   # 100k and 1M logged predictions
    python bench/online.py --rows 200000     # chosen sizes
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from harness import peak_rss_mb

SIZES = (100_000, 1_000_000)


def write_inputs(directory: Path, rows: int) -> None:
    import numpy as np

    from {{ cookiecutter.package_name }}.contract import load_contract
    from {{ cookiecutter.package_name }}.data.batches import jsonl_lines
    from {{ cookiecutter.package_name }}.data.synthetic import DEFAULT_START, generate_batch
    from {{ cookiecutter.package_name }}.monitoring.online import label_columns
    from {{ cookiecutter.package_name }}.serving.local import request_records
    from {{ cookiecutter.package_name }}.serving.split import CHALLENGER_ARM, CHAMPION_ARM
    from {{ cookiecutter.package_name }}.settings import get_settings

    contract = load_contract(get_settings().contract_file)
    frame = generate_batch(rows, seed=1)
    rng = np.random.default_rng(0)
    challenger = rng.random(rows) < 0.5
    served = [
        DEFAULT_START + timedelta(seconds=int(s)) for s in np.sort(rng.integers(0, 4 * 3600, rows))
    ]
    lines = [
        record
        | {
            "score": float(score),
            "model_version": "2" if arm else "1",
            "arm": CHALLENGER_ARM if arm else CHAMPION_ARM,
            "latency_ms": 1.0,
            "batch_rows": 100,
            "logged_at": f"{at.isoformat()}+00:00",
        }
        for record, score, arm, at in zip(
            request_records(frame, contract), rng.random(rows), challenger, served, strict=True
        )
    ]
    log = directory / "prediction_log.jsonl"
    log.write_text(jsonl_lines(lines), encoding="utf-8")
    arrived = DEFAULT_START + timedelta(hours=5)
    frame[label_columns(contract)].assign(labelled_at=arrived.isoformat()).to_parquet(
        directory / "labels.parquet"
    )


def measure(directory: Path) -> dict[str, Any]:
    from {{ cookiecutter.package_name }}.contract import load_contract
    from {{ cookiecutter.package_name }}.monitoring import experiment, online
    from {{ cookiecutter.package_name }}.monitoring.windows import prediction_log_window
    from {{ cookiecutter.package_name }}.requirements import load_requirements
    from {{ cookiecutter.package_name }}.settings import get_settings

    settings = get_settings()
    contract = load_contract(settings.contract_file)
    requirements = load_requirements(settings.requirements_file)
    seconds: dict[str, float] = {}

    def timed(name: str, step: Any, *args: Any) -> Any:
        started = time.perf_counter()
        result = step(*args)
        seconds[name] = round(time.perf_counter() - started, 2)
        return result

    predictions, _, _ = timed(
        "read_log_s", prediction_log_window, directory / "prediction_log.jsonl", 0
    )
    labels = timed(
        "read_labels_s",
        online.read_labels,
        directory / "labels.parquet",
        contract,
        datetime.now(UTC),
    )
    window = timedelta(hours=requirements.online_metrics.label_window_hours)
    joined, counts = timed("join_s", online.join_labels, predictions, labels, contract, window)
    windows = timed(
        "metrics_s",
        online.online_windows,
        predictions,
        joined,
        contract,
        requirements.offline_metrics,
        requirements.online_metrics.window_minutes,
    )
    rules = requirements.experiment.model_copy(update={"rollout": "ab"})
    analysis = timed(
        "ab_analysis_s",
        experiment.analyse,
        joined,
        contract,
        requirements.offline_metrics,
        rules,
        "ab",
    )
    return seconds | {
        "joined": counts.predictions,
        "windows": len(windows),
        "decision": analysis.decision,
        "rounds": rules.bootstrap_rounds,
        "peak_rss_mb": round(peak_rss_mb()),
    }


def run_worker(directory: Path, mode: str, rows: int) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, __file__, "--worker", str(directory), mode, str(rows)],
        capture_output=True,
        text=True,
        check=False,
        env=os.environ | {"MLSD_PROJECT_DIR": str(directory)},
    )
    if completed.returncode != 0:
        raise RuntimeError(f"worker {mode} failed:\n{completed.stderr}")
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1] or "{}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="*")
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        directory, mode, rows = args.worker
        if mode == "write":
            write_inputs(Path(directory), int(rows))
            print("{}")
        else:
            print(json.dumps(measure(Path(directory))))
        return
    print(
        f"{'logged':>10} {'read log s':>10} {'read labels s':>13} {'join s':>7} "
        f"{'metrics s':>9} {'A/B s':>6} {'rounds':>6} {'peak RSS MB':>11}  windows, decision"
    )
    for rows in args.rows or SIZES:
        with tempfile.TemporaryDirectory(prefix="mlsd-bench-") as directory:
            run_worker(Path(directory), "write", rows)
            r = run_worker(Path(directory), "measure", rows)
            print(
                f"{rows:>10,} {r['read_log_s']:>10} {r['read_labels_s']:>13} {r['join_s']:>7} "
                f"{r['metrics_s']:>9} {r['ab_analysis_s']:>6} {r['rounds']:>6} "
                f"{r['peak_rss_mb']:>11,}  {r['windows']}, {r['decision']}",
                flush=True,
            )


if __name__ == "__main__":
    main()
