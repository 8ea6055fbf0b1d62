"""Golden-path benchmark: the whole closed loop (`make all`, the `loop` command) in a fresh
project, as a user runs it after `make setup`: wall time of the command, and the loop's own
table of steps, with the seconds that were the system's work and the share that was not.

    python bench/golden_path.py
"""

from __future__ import annotations

import sys

import {{ cookiecutter.package_name }}
from harness import run_in_new_project

LOOP = [sys.executable, "-m", {{ cookiecutter.package_name }}.__name__, "loop"]


def main() -> None:
    completed, wall = run_in_new_project(LOOP)
    if completed.returncode != 0:
        raise SystemExit(f"the loop failed:\n{completed.stderr[-3000:]}")
    print(completed.stdout.split("\n\n")[0])  # the table of steps, not the artifact paths
    print(f"\nwhole command, process start to exit: {wall:.1f} s")


if __name__ == "__main__":
    main()
