"""The default project, installed from its lock file and run for real: lint, tests, main job."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from .conftest import DEFAULT_PACKAGE, DEFAULT_SLUG, bake, clean_env, run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, uv: str) -> Path:
    baked = bake(tmp_path_factory.mktemp("default"))
    run(["make", "setup", f"UV={uv}"], cwd=baked)
    return baked


def test_make_help_documents_every_target(project: Path) -> None:
    listed = run(["make", "help"], cwd=project).stdout
    makefile = (project / "Makefile").read_text()
    targets = re.findall(r"^([a-z-]+):.*## ", makefile, flags=re.M)
    assert {"setup", "ingest", "all", "test", "lint", "bench"} <= set(targets)
    for target in targets:
        assert re.search(rf"^\s+{target}\s", listed, flags=re.M), target


def test_generated_project_lints_clean(project: Path, uv: str) -> None:
    run(["make", "lint", f"UV={uv}"], cwd=project)


def test_generated_project_tests_pass(project: Path, uv: str) -> None:
    result = run(["make", "test", f"UV={uv}"], cwd=project)
    summary = re.findall(r"^=+ (.*) in [\d.]+s.* =+$", result.stdout, flags=re.M)
    assert summary and re.fullmatch(r"\d+ passed", summary[-1]), summary


def test_main_job_runs_and_stays_inside_the_project(project: Path, uv: str, tmp_path: Path) -> None:
    """`make all` for real (ingest, train, status), with HOME pointed at an empty folder that
    must stay empty."""
    home = tmp_path / "home"
    home.mkdir()
    cache = run([uv, "cache", "dir"], cwd=project).stdout.strip()
    env = clean_env(HOME=str(home), UV_CACHE_DIR=cache, XDG_CACHE_HOME="", XDG_CONFIG_HOME="")
    run(["make", "all", f"UV={uv}"], cwd=project, env=env)

    status = json.loads(
        run(
            [str(project / ".venv" / "bin" / DEFAULT_SLUG), "status", "--json"],
            cwd=project,
            env=env,
        ).stdout
    )
    ingestion = status["ingestion"]
    assert ingestion["validated_batches"] == 1
    assert ingestion["validated_rows"] == 50_000
    assert ingestion["last_run"]["status"] == "validated"
    assert Path(ingestion["last_run"]["path"]).is_relative_to(project)
    assert status["tools"]["data_docs"] == str(project / "reports" / "data_docs" / "index.html")
    assert (project / ".prefect").is_dir()

    registry = status["registry"]
    assert registry["tracking_uri"] == f"sqlite:///{project / 'mlflow.db'}"
    assert registry["versions"] == 1
    assert registry["champion"]["version"] == "1"
    assert registry["champion"]["gate"] == "passed"
    assert registry["champion"]["metrics"]["roc_auc"] > 0.75
    (card,) = (project / "reports" / "training").glob("*/model_card.md")
    assert "promoted to champion" in card.read_text()
    assert list((project / "mlartifacts").rglob("model.skops"))
    assert sorted(p.name for p in home.rglob("*")) == []


def test_bad_batch_through_the_cli_is_quarantined(project: Path, tmp_path: Path) -> None:
    cli = str(project / ".venv" / "bin" / DEFAULT_SLUG)
    source = tmp_path / "batch.csv"
    run([cli, "generate", str(source), "--rows", "500"], cwd=project)
    source.write_text(source.read_text().replace(",desktop,", ",laptop,"))
    result = run([cli, "ingest", "--source", str(source)], cwd=project, expect_code=1)
    assert "device:" in result.stderr and "'laptop'" in result.stderr
    assert "Data Docs: file://" in result.stderr
    assert list((project / "data" / "quarantine").glob("*.parquet"))


def test_bento_builds_offline_from_the_locked_serving_dependencies(
    project: Path, uv: str, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    cache = run([uv, "cache", "dir"], cwd=project).stdout.strip()
    env = clean_env(HOME=str(home), UV_CACHE_DIR=cache)
    output = run(["make", "bento", f"UV={uv}"], cwd=project, env=env).stdout
    (tag,) = re.findall(r"__tag__:(\S+)", output)
    name, version = tag.split(":")
    bento = project / ".bentoml" / "bentos" / name / version
    assert (bento / "src" / DEFAULT_PACKAGE / "serving" / "service.py").is_file()
    assert (bento / "src" / DEFAULT_PACKAGE / "contract" / "contract.yaml").is_file()
    assert (bento / "env" / "docker" / "Dockerfile").is_file()
    pins = (bento / "env" / "python" / "requirements.txt").read_text()
    assert re.search(r"^bentoml==", pins, flags=re.M)
    assert re.search(r"^scikit-learn==", pins, flags=re.M)
    for pipeline_only in ("prefect", "great-expectations"):
        assert not re.search(rf"^{pipeline_only}==", pins, flags=re.M), pipeline_only
    assert sorted(p.name for p in home.rglob("*")) == []


def test_serving_dependencies_alone_import_the_service(
    project: Path, uv: str, tmp_path: Path
) -> None:
    """What the serving image installs (`uv sync --no-default-groups`) is enough to serve."""
    venv = tmp_path / "serving-venv"
    cache = run([uv, "cache", "dir"], cwd=project).stdout.strip()
    env = clean_env(UV_PROJECT_ENVIRONMENT=str(venv), UV_CACHE_DIR=cache)
    run([uv, "sync", "--locked", "--no-default-groups", "--no-editable"], cwd=project, env=env)
    installed = run([uv, "pip", "list", "--python", str(venv / "bin" / "python")], cwd=project)
    assert "prefect" not in installed.stdout and "great-expectations" not in installed.stdout
    probe = f"import {DEFAULT_PACKAGE}.serving.service as s; print(s.ClickService.name)"
    result = run([str(venv / "bin" / "python"), "-c", probe], cwd=tmp_path, env=clean_env())
    assert result.stdout.strip().endswith("click_service")
