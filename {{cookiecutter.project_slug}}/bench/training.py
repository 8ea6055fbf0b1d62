"""Training benchmark: wall time and peak RSS of the real training flow, and the share of it
spent outside model fitting.

Two shares are printed: "outside fit" is everything but `fit` (reading data, scoring the
holdout with the new model and the champion, Prefect, MLflow, plots); "orch+tracking" also
leaves out reading data and scoring, leaving Prefect, MLflow, plots and files.

One subprocess and a fresh project per size. The data is written straight to the validated
folder (ingestion has its own benchmark), and Prefect's temporary server is started before the
clock runs (its start-up is measured by bench/ingestion.py). The flow then runs twice: the
first creates the MLflow database and has no champion; the second also loads and scores the
champion, as every later run does.

    python bench/training.py                   # 50k and 1M rows
    python bench/training.py --rows 200000     # chosen sizes only
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from harness import peak_rss_mb, run_isolated

DEFAULT_SIZES = (50_000, 1_000_000)


def measure_training(rows: int) -> dict[str, Any]:
    from prefect import flow

    from {{ cookiecutter.package_name }}.data.batches import batch_id, content_hash, write_parquet_once
    from {{ cookiecutter.package_name }}.data.synthetic import generate_batch
    from {{ cookiecutter.package_name }}.requirements import load_requirements
    from {{ cookiecutter.package_name }}.settings import get_settings
    from {{ cookiecutter.package_name }}.stopwatch import work_seconds
    from {{ cookiecutter.package_name }}.training.flow import training_flow

    settings = get_settings()
    primary = load_requirements(settings.requirements_file).offline_metrics.primary
    frame = generate_batch(rows=rows, seed=1)
    write_parquet_once(frame, settings.validated_dir / f"{batch_id(content_hash(frame))}.parquet")
    del frame

    @flow(name="warm-up")
    def warm_up() -> None:
        """Starts Prefect's temporary server, outside the timed runs."""

    warm_up()
    result: dict[str, Any] = {"rows": rows}
    for run in ("first", "second"):
        started = time.perf_counter()
        outcome = training_flow()
        wall = time.perf_counter() - started
        fit = outcome.seconds["fit"]
        # The flow's work steps (stopwatch.WORK_STEPS) other than fitting: reading the data and
        # scoring holdouts; the rest of the wall time is Prefect, MLflow, plots and files.
        data_and_scoring = work_seconds(outcome.seconds) - fit
        result[run] = {
            "wall_s": round(wall, 2),
            "fit_s": round(fit, 2),
            "outside_fit_share": round(1 - fit / wall, 3),
            # What is left once fitting, reading data and scoring holdouts are taken out.
            "orchestration_tracking_share": round((wall - fit - data_and_scoring) / wall, 3),
            "steps_s": {name: round(value, 2) for name, value in outcome.seconds.items()},
            primary: round(outcome.metrics[primary], 4),
            "promoted": outcome.decision.promote,
        }
    result["peak_rss_mb"] = round(peak_rss_mb())
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="*", default=list(DEFAULT_SIZES))
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        print(json.dumps(measure_training(int(args.worker[1]))))
        return

    print(
        f"{'rows':>10} {'run':>7} {'wall s':>7} {'fit s':>6} {'outside fit':>11} "
        f"{'orch+tracking':>13} {'peak RSS MB':>12}  steps (s)"
    )
    for rows in args.rows:
        result = run_isolated(__file__, "train", str(rows))
        for run in ("first", "second"):
            r = result[run]
            steps = " ".join(f"{name}={value}" for name, value in r["steps_s"].items())
            print(
                f"{rows:>10,} {run:>7} {r['wall_s']:>7} {r['fit_s']:>6} "
                f"{r['outside_fit_share']:>11.1%} {r['orchestration_tracking_share']:>13.1%} "
                f"{result['peak_rss_mb']:>12,}  {steps}"
            )


if __name__ == "__main__":
    main()
