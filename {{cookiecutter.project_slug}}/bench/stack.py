"""The closed loop through the servers of `make stack` against the embedded default, step by
step: the same `loop` command, each in a new project.

Embedded, the loop calls each flow in its own process, with its own temporary Prefect server and
the SQLite registry. Through the stack, each flow is a deployment run that the worker picks up
(it polls every 2 s) and runs in a new process, against PostgreSQL behind the MLflow server. The
stack's start-up is timed apart: it is paid once per machine, not per loop.

    python bench/stack.py
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import project_environment

PACKAGE = "{{ cookiecutter.package_name }}"


def loop_steps(env: dict[str, str], *options: str) -> dict[str, float]:
    """Run `loop`; its steps' wall seconds, from its report (a repeated step numbered)."""
    completed = subprocess.run(
        [sys.executable, "-m", PACKAGE, "loop", *options], env=env, capture_output=True, text=True
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"the loop failed:\n{completed.stdout[-3000:]}{completed.stderr[-3000:]}"
        )
    found = re.findall(r"^(\S[^\n]*?)\s+([\d.]+) s\s+[\d.]+ s", completed.stdout, flags=re.M)
    steps: dict[str, float] = {}
    for name, seconds in found:
        label, repeat = name.strip(), 2
        while label in steps:
            label, repeat = f"{name.strip()} ({repeat})", repeat + 1
        steps[label] = float(seconds)
    return steps


def main() -> None:
    from {{ cookiecutter.package_name }}.stack import running_stack

    with tempfile.TemporaryDirectory(prefix="mlsd-bench-") as directory:
        embedded = loop_steps(project_environment(directory))
    with tempfile.TemporaryDirectory(prefix="mlsd-bench-") as directory:
        project = Path(directory)
        started = time.perf_counter()
        with running_stack(project) as stack:
            start_up = time.perf_counter() - started
            env = project_environment(directory) | stack.settings
            through_servers = loop_steps(env, "--deployments")

    print(f"stack start-up (PostgreSQL, MLflow, Prefect, worker, service): {start_up:.1f} s\n")
    print(f"{'step':<14} {'embedded s':>10} {'servers s':>10}")
    for name in [*embedded, *(step for step in through_servers if step not in embedded)]:
        local, remote = embedded.get(name), through_servers.get(name)
        shown = [
            f"{value:>10.1f}" if value is not None else f"{'-':>10}" for value in (local, remote)
        ]
        print(f"{name:<14} {' '.join(shown)}")


if __name__ == "__main__":
    main()
