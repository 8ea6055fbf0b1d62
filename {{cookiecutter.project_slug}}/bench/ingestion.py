"""Ingestion benchmark: validation throughput, peak memory, and Prefect's first-run overhead.

Each measurement runs in its own subprocess and its own throw-away project directory, so peak
RSS belongs to that run alone and the first flow run really starts a new Prefect database.

    python bench/ingestion.py                  # 50k, 1M and 5M rows, then the first flow run
    python bench/ingestion.py --rows 50000     # chosen sizes only
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from harness import peak_rss_mb, run_isolated

DEFAULT_SIZES = (50_000, 1_000_000, 5_000_000)


def measure_ingestion(rows: int) -> dict[str, Any]:
    """Generate, validate (with Data Docs) and store one batch with the plain step functions."""
    from {{ cookiecutter.package_name }}.contract import load_contract
    from {{ cookiecutter.package_name }}.data.ingestion import record_outcome
    from {{ cookiecutter.package_name }}.data.synthetic import generate_batch
    from {{ cookiecutter.package_name }}.data.validation import validate_batch
    from {{ cookiecutter.package_name }}.settings import get_settings

    settings = get_settings()
    contract = load_contract(settings.contract_file)
    started = time.perf_counter()
    frame = generate_batch(rows=rows, seed=1)
    generated = time.perf_counter()
    report = validate_batch(frame, contract, settings.gx_dir, settings.data_docs_dir)
    validated = time.perf_counter()
    record_outcome(frame, report, "bench", settings)
    stored = time.perf_counter()
    assert report.success, report.summary()
    validate_s = validated - generated
    return {
        "rows": rows,
        "generate_s": round(generated - started, 2),
        "validate_s": round(validate_s, 2),
        "store_s": round(stored - validated, 2),
        "validate_rows_per_s": round(rows / validate_s),
        "ingest_rows_per_s": round(rows / (stored - generated)),
        "peak_rss_mb": round(peak_rss_mb()),
    }


def measure_first_flow_run() -> dict[str, Any]:
    """Wall time of the first flow run in a fresh project, and of the same work without Prefect."""
    started = time.perf_counter()
    from {{ cookiecutter.package_name }}.data.flow import ingestion_flow

    imported = time.perf_counter()
    ingestion_flow(rows=1_000, seed=2)
    first = time.perf_counter()
    ingestion_flow(rows=1_000, seed=3)
    second = time.perf_counter()
    plain = measure_ingestion(1_000)
    plain_s = plain["generate_s"] + plain["validate_s"] + plain["store_s"]
    return {
        "import_s": round(imported - started, 2),
        "first_flow_run_s": round(first - imported, 2),
        "second_flow_run_s": round(second - first, 2),
        "same_work_without_prefect_s": round(plain_s, 2),
        "first_run_prefect_overhead_s": round(first - imported - plain_s, 2),
        "process_start_to_first_result_s": round(first - started, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="*", default=list(DEFAULT_SIZES))
    parser.add_argument("--skip-first-run", action="store_true")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        mode, argument = args.worker
        result = measure_ingestion(int(argument)) if mode == "ingest" else measure_first_flow_run()
        print(json.dumps(result))
        return

    print(
        f"{'rows':>10} {'validate s':>10} {'rows/s':>10} {'ingest rows/s':>14} {'peak RSS MB':>12}"
    )
    for rows in args.rows:
        r = run_isolated(__file__, "ingest", str(rows))
        print(
            f"{r['rows']:>10,} {r['validate_s']:>10} {r['validate_rows_per_s']:>10,} "
            f"{r['ingest_rows_per_s']:>14,} {r['peak_rss_mb']:>12,}"
        )
    if not args.skip_first_run:
        first = run_isolated(__file__, "first-run")
        print("\nFirst flow run in a fresh project (new Prefect database, temporary server):")
        for key, value in first.items():
            print(f"  {key:<34} {value}")


if __name__ == "__main__":
    main()
