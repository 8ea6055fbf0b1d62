"""Bring your own data, as a user does it: a table made here (not by the worked example's
generator), with column names holding spaces, dashes, dots and accents, no id and no timestamp;
then config and commands only: infer -> ingest -> train -> serve -> score -> monitor ->
loop --source. Nothing the system writes about that data may speak of the worked example.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_failure_modes import api_url, cli  # noqa: F401 (api_url is a fixture)

from {{ cookiecutter.package_name }}.contract import load_contract
from {{ cookiecutter.package_name }}.errors import BAD_INPUT
from {{ cookiecutter.package_name }}.processes import http_json
from {{ cookiecutter.package_name }}.serving.local import start_service
from worked_example import (
    EXAMPLE_WORDS,
    OWN_INFER_ARGUMENTS,
    OWN_OUTPUT,
    OWN_REFUSAL,
    OWN_REFUSED_TARGET,
    OWN_SLICE,
    OWN_TARGET,
    own_score_ok,
    own_target,
    role_columns,
)

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_server")]
EXAMPLE = re.compile(EXAMPLE_WORDS, re.IGNORECASE)
OWN_NAMES = ("{{ cookiecutter.package_name }}", "{{ cookiecutter.project_slug }}")  # the project's own name may stay
FEATURES = ["mean radius", "tumour-size (mm)", "Größe", "région", "smoker?", "3rd.measure"]


def patients(rows: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    """A learnable table of its own kind; `shift` (0 to 1) moves three features (covariate
    drift) while keeping them inside the ranges inferred from the unshifted table."""
    rng = np.random.default_rng(seed)
    radius = rng.normal(14 + 1.5 * shift, 3, rows)
    size = rng.gamma(4, 5, rows)
    size[rng.random(rows) < 0.05] = np.nan
    age = rng.integers(20, 90, rows)
    weights = np.array([0.4, 0.3, 0.2, 0.1]) * (1 - shift) + np.array([0.1, 0.2, 0.3, 0.4]) * shift
    region = rng.choice(["nord", "sud", "est", "ouest"], rows, p=weights)
    smoker = rng.random(rows) < 0.3 + 0.15 * shift
    third = rng.uniform(0, 1, rows)
    signal = (
        (-8 + 0.35 * radius + 0.04 * np.nan_to_num(size, nan=20) + 0.02 * age + 0.8 * smoker)
        + np.where(region == "sud", 0.6, 0)
        + 1.5 * third
    )
    return pd.DataFrame(
        {
            **role_columns(rows, seed),
            "mean radius": radius.round(3),
            "tumour-size (mm)": size.round(2),
            "Größe": age,
            "région": region,
            "smoker?": np.where(smoker, "true", "false"),
            "3rd.measure": third.round(4),
            OWN_TARGET: own_target(rng, signal),
        }
    )


def speaks_of_the_example(text: str) -> list[str]:
    for name in OWN_NAMES:
        text = text.replace(name, "")
    return EXAMPLE.findall(text)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    return output


def configure(project: Path) -> None:
    (project / ".env").write_text(
        "MLSD_CONTRACT_FILE=contract.yaml\nMLSD_REQUIREMENTS_FILE=requirements.yaml\n"
    )


def test_a_users_table_from_contract_to_closed_loop(tmp_path: Path, api_url: str) -> None:  # noqa: F811
    project = tmp_path / "project"
    project.mkdir()
    table = project / "patients table.csv"
    patients(4_000, seed=1).to_csv(table, index=False)

    # Step 2 by inference; a refusal is one sentence, and nothing is written.
    refused = cli(project, "contract", "infer", str(table), "--target", OWN_REFUSED_TARGET)
    assert refused.returncode == BAD_INPUT
    assert OWN_REFUSAL in refused.stderr and "Traceback" not in refused.stderr
    contract_file = project / "contract.yaml"
    assert not contract_file.exists()
    infer = ["contract", "infer", str(table), "--target", OWN_TARGET, *OWN_INFER_ARGUMENTS]
    inferred = ok(cli(project, *infer, "--output", str(contract_file)))
    assert "région: category feature, 4 values" in inferred
    assert "MLSD_CONTRACT_FILE=contract.yaml" in inferred
    configure(project)

    ingested = ok(cli(project, "ingest", "--source", str(table), api_url=api_url))
    assert ingested.startswith("validated") or "\nvalidated: " in ingested
    trained = ok(cli(project, "train", api_url=api_url))
    assert "promoted to champion" in trained
    card = next((project / "reports" / "training").glob("*/model_card.md")).read_text()
    assert "`Größe`" in card and OWN_OUTPUT in card
    assert "random holdout" in card and OWN_SLICE in card
    assert speaks_of_the_example(card) == []

    server = start_service(project, log=project / "service.log")
    try:
        row = patients(1, seed=9).drop(columns=OWN_TARGET)
        record = json.loads(row.to_json(orient="records"))[0]
        record["smoker?"] = record["smoker?"] == "true"
        status, answer = http_json(f"{server.url}/predict", {"records": [record]})
        assert status == 200, answer
        assert own_score_ok(answer[0]["score"]) and answer[0]["model_version"] == "1"
        status, answer = http_json(
            f"{server.url}/predict", {"records": [record | {"Größe": "old"}]}
        )
        assert status == 400 and answer["detail"][0]["loc"] == ["records", 0, "Größe"]
        status, document = http_json(f"{server.url}/docs.json")
        schema = json.dumps(document, ensure_ascii=False)
        assert all(f'"{name}"' in schema for name in FEATURES)
        assert speaks_of_the_example(schema) == []
    finally:
        server.stop()
    logged = (project / "data" / "predictions" / "prediction_log.jsonl").read_text()
    assert '"tumour-size (mm)"' in logged

    unlabelled = project / "new patients.csv"
    patients(300, seed=2).drop(columns=OWN_TARGET).to_csv(unlabelled, index=False)
    scored_line = ok(cli(project, "score", str(unlabelled), api_url=api_url)).strip()
    scored = pd.read_parquet(scored_line.split("scores written to ", 1)[1].splitlines()[0])
    fields = load_contract(contract_file).prediction.fields  # the task's, for this target
    assert [*role_columns(1, seed=2), *FEATURES, *fields, "model_version"] == list(scored.columns)

    # A labelled batch with shifted patients: judged, ingested, then retrained on.
    shifted = project / "shifted.csv"
    patients(1_500, seed=3, shift=1.0).to_csv(shifted, index=False)
    judged = ok(cli(project, "monitor", "--source", str(shifted), api_url=api_url))
    assert "action: retrain" in judged
    assert "the judged batch was validated as" in judged
    log = [json.loads(line) for line in (project / "data" / "monitoring_log.jsonl").open()]
    assert log[-1]["retrained"]["model_name"] == "gradient_boosting"  # the champion's

    # The whole loop on the same table, in a project of its own.
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    for name in ("contract.yaml", "requirements.yaml", ".env"):
        shutil.copy(project / name, fresh / name)
    looped = ok(cli(fresh, "loop", "--source", str(table), api_url=api_url))
    assert "2400 rows to train on, 800 replayed, 800 drifted" in looped
    assert re.search(r"monitor .* drifted none .*-> none", looped), looped
    assert re.search(r"monitor .* -> retrain", looped), looped
    assert "the service now answers with v" in looped
    assert "synthetic" not in looped
    for card_file in (fresh / "reports" / "training").glob("*/model_card.md"):
        assert speaks_of_the_example(card_file.read_text()) == []


def test_make_all_runs_the_loop_on_source(tmp_path: Path) -> None:
    """`make all SOURCE=...` passes the table (a name with a space) to `loop --source`."""
    makefile = Path(__file__).parents[2] / "Makefile"
    result = subprocess.run(
        ["make", "-n", "-f", str(makefile), "all", "SOURCE=my table.csv", f"UV={sys.executable}"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert 'loop --source "my table.csv"' in result.stdout
