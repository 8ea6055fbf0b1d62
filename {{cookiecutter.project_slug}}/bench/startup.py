"""Start-up benchmark: how long the commands a user runs most often take, process start to
exit, in a project that has trained (so `status` has a registry to read).

Each command runs several times in a fresh interpreter; the median, fastest and slowest are
printed. `--help` must not import the pipeline's tools, and `status --json` only reads files
(the local registry without MLflow).

    python bench/startup.py
    python bench/startup.py --runs 10
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time

import {{ cookiecutter.package_name }}
from harness import project_environment

COMMANDS = {
    "--help": ["--help"],
    "status --json": ["status", "--json"],
}
# What each command should take at most on this kind of machine (the speed issue's targets).
TARGET_SECONDS = {"--help": 0.5, "status --json": 1.5}


def train_once() -> None:
    from {{ cookiecutter.package_name }}.data.flow import ingestion_flow
    from {{ cookiecutter.package_name }}.training.flow import training_flow

    ingestion_flow(rows=20_000, seed=1)
    training_flow()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        train_once()
        return

    package = [sys.executable, "-m", {{ cookiecutter.package_name }}.__name__]
    with tempfile.TemporaryDirectory(prefix="mlsd-bench-") as directory:
        env = project_environment(directory)
        subprocess.run(
            [sys.executable, __file__, "--worker"], env=env, check=True, capture_output=True
        )
        print(f"{'command':<16} {'median s':>9} {'fastest':>8} {'slowest':>8}  target")
        for name, arguments in COMMANDS.items():
            seconds = []
            for _ in range(args.runs):
                started = time.perf_counter()
                subprocess.run(package + arguments, env=env, check=True, capture_output=True)
                seconds.append(time.perf_counter() - started)
            median = statistics.median(seconds)
            target = TARGET_SECONDS[name]
            verdict = "met" if median <= target else "MISSED"
            print(
                f"{name:<16} {median:>9.2f} {min(seconds):>8.2f} {max(seconds):>8.2f}  "
                f"<= {target} s: {verdict}"
            )


if __name__ == "__main__":
    main()
