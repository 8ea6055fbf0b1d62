"""What every benchmark here shares: each measurement runs in its own subprocess and its own
throw-away project directory, so peak RSS belongs to that run alone and every tool starts from
an empty database."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from {{ cookiecutter.package_name }}.runtime import tool_environment
from {{ cookiecutter.package_name }}.settings import Settings

# Tool variables the package sets for the current project; a fresh run must not inherit them.
INHERITED_TOOL_VARIABLES = (
    "PREFECT_HOME",
    "PREFECT_API_URL",
    "MLFLOW_TRACKING_URI",
    "BENTOML_HOME",
)


def peak_rss_mb() -> float:
    """This process's peak resident memory. Linux's VmHWM, not `ru_maxrss`: a process started
    by fork and exec inherits its parent's `ru_maxrss`, so a small run started by a large
    parent would report the parent's peak."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def project_environment(project_dir: str) -> dict[str, str]:
    """This process's environment, pointed at `project_dir` instead of the current project."""
    env = {k: v for k, v in os.environ.items() if k not in INHERITED_TOOL_VARIABLES}
    env["MLSD_PROJECT_DIR"] = project_dir
    # Set the tools' homes now: a worker may import Prefect before the package does.
    return env | tool_environment(Settings(project_dir=Path(project_dir)))


def run_in_new_project(command: list[str]) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run `command` against a new, empty project; its result and wall seconds."""
    with tempfile.TemporaryDirectory(prefix="mlsd-bench-") as project_dir:
        started = time.perf_counter()
        completed = subprocess.run(
            command,
            env=project_environment(project_dir),
            capture_output=True,
            text=True,
            check=False,
        )
        return completed, time.perf_counter() - started


def run_isolated(script: str, mode: str, argument: str = "") -> dict[str, Any]:
    """Run `script --worker mode argument` in a new project; return the JSON it prints last."""
    completed, wall = run_in_new_project([sys.executable, script, "--worker", mode, argument])
    if completed.returncode != 0:
        raise RuntimeError(f"benchmark worker {mode} {argument} failed:\n{completed.stderr}")
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    result["process_wall_s"] = round(wall, 2)
    return result
