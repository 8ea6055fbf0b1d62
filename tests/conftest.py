from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from cookiecutter.main import cookiecutter

REPO = Path(__file__).resolve().parents[1]
TEMPLATE_OPTIONS: dict[str, Any] = json.loads((REPO / "cookiecutter.json").read_text())
DEFAULT_SLUG = "ad-click-prediction"
DEFAULT_PACKAGE = "ad_click_prediction"


def bake(output_dir: Path, **answers: str) -> Path:
    """Generate a project without prompts; `answers` override cookiecutter.json's defaults.

    cookiecutter's own state (replay files, clones) goes beside the output, not in the home dir.
    """
    state = output_dir.parent / f".cookiecutter-{output_dir.name}"
    config = state / "config.yaml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f"replay_dir: {state / 'replay'}\ncookiecutters_dir: {state / 'clones'}\n")
    return Path(
        cookiecutter(
            str(REPO),
            no_input=True,
            extra_context=answers,
            output_dir=str(output_dir),
            config_file=str(config),
        )
    )


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for running a generated project: none of the caller's tool settings."""
    env = {
        key: value
        for key, value in os.environ.items()
        # MAKE*: under `make test`, a nested make would otherwise inherit the outer one's state.
        if not key.startswith(("MLSD_", "PREFECT_", "VIRTUAL_ENV", "MAKE", "MFLAGS"))
    }
    env["UV_PYTHON_DOWNLOADS"] = "never"
    env.update(extra)
    return env


def run(
    command: list[str],
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: int = 900,
    expect_code: int = 0,
) -> subprocess.CompletedProcess[str]:
    """Run a command; fail the test, with its output, unless it exits with `expect_code`."""
    result = subprocess.run(
        command,
        cwd=cwd,
        env=dict(env) if env is not None else clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != expect_code:
        pytest.fail(
            f"{' '.join(command)} exited {result.returncode}, expected {expect_code}\n"
            f"--- stdout ---\n{result.stdout[-6000:]}\n--- stderr ---\n{result.stderr[-6000:]}"
        )
    return result


@pytest.fixture(scope="session")
def uv() -> str:
    """The uv that runs these tests (`uv run` exports it as UV), else one on PATH."""
    found = os.environ.get("UV") or shutil.which("uv") or str(REPO / ".tools" / "bin" / "uv")
    if not Path(found).is_file():
        pytest.fail("uv not found: run the tests with `make test`, which bootstraps it")
    return found
