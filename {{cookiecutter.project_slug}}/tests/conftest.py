from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.contract import DataContract, load_contract
from {{ cookiecutter.package_name }}.data.synthetic import generate_batch
from {{ cookiecutter.package_name }}.settings import ENV_PREFIX, Settings, get_settings


@pytest.fixture(autouse=True)
def _no_user_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see only the settings they set: drop MLSD_* from the caller's shell, and MLflow's
    tracking URI, which MLflow sets as a side effect of choosing one."""
    for name in list(os.environ):
        if name.startswith(ENV_PREFIX) or name == "MLFLOW_TRACKING_URI":
            monkeypatch.delenv(name)


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings for a throw-away project directory: data, reports and GX land in tmp_path."""
    monkeypatch.setenv(f"{ENV_PREFIX}PROJECT_DIR", str(tmp_path))
    return get_settings()


@pytest.fixture(scope="session")
def contract() -> DataContract:
    return load_contract(Settings().contract_file)


@pytest.fixture(scope="session")
def clean_batch() -> pd.DataFrame:
    return generate_batch(rows=2_000, seed=7)


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[None]:
    """A temporary Prefect API with its own database, for tests that run real flows."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield
