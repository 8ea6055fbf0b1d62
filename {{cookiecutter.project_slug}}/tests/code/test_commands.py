"""Commands take your file: every Make target that reads data passes SOURCE on, one that needs a
file and has none says what to type, and nothing generates the worked example's data for a
contract that is not the worked example's."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.contract import DataContract
from {{ cookiecutter.package_name }}.data.batches import NoSourceError, require_example_contract
from {{ cookiecutter.package_name }}.data.ingestion import load_batch
from {{ cookiecutter.package_name }}.errors import BAD_INPUT

PROJECT = Path(__file__).resolve().parents[2]
SOURCE = "my data/orders 2026.csv"  # a space in a folder and a file name


def make(*arguments: str) -> subprocess.CompletedProcess[str]:
    """What `make` would run (-n: nothing runs)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS"))}
    return subprocess.run(
        ["make", "-n", "--no-print-directory", *arguments],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    ("target", "passed_as"),
    [
        ("ingest", f'ingest --source "{SOURCE}"'),
        ("all", f'loop --source "{SOURCE}"'),
        ("monitor", f'monitor --source "{SOURCE}"'),
        ("score", f'score "{SOURCE}"'),
        ("labels", f'labels "{SOURCE}"'),
        ("contract", f'contract infer "{SOURCE}" --target "y"'),
    ],
)
def test_every_target_that_reads_data_takes_source(target: str, passed_as: str) -> None:
    planned = make(target, f"SOURCE={SOURCE}", "TARGET=y")
    assert planned.returncode == 0, planned.stderr
    assert passed_as in planned.stdout


@pytest.mark.parametrize(
    ("target", "advice"),
    [
        ("score", "make score SOURCE="),
        ("labels", "make labels LABELS="),
        ("contract", "make contract SOURCE=your.csv TARGET=column"),
    ],
)
def test_a_target_that_needs_a_file_says_what_to_type(target: str, advice: str) -> None:
    planned = make(target)
    assert planned.returncode != 0 and advice in planned.stderr


def test_without_a_source_ingest_refuses_a_contract_that_is_not_the_example(
    contract: DataContract,
) -> None:
    require_example_contract(contract)  # the packaged contract: the generator fits it
    # The same shape under the user's own column names: a contract of another table.
    renamed = tuple(c.model_copy(update={"name": f"my {c.name}"}) for c in contract.columns)
    mine = contract.model_copy(update={"name": "orders", "columns": renamed})
    with pytest.raises(NoSourceError, match="--source FILE") as refused:
        load_batch(mine, None, rows=10, seed=1, drift="none")
    assert "'orders'" in str(refused.value) and "make ingest SOURCE=FILE" in str(refused.value)


def test_help_names_the_command_not_the_module() -> None:
    cli = Path(sys.executable).with_name("{{ cookiecutter.project_slug }}")
    shown = subprocess.run([cli, "--help"], capture_output=True, text=True, check=False)
    assert shown.returncode == 0
    assert "Usage: {{ cookiecutter.project_slug }} " in shown.stdout
    assert f"{BAD_INPUT} bad usage" in " ".join(shown.stdout.split())  # exit codes listed
