"""The default project, installed from its lock file and run for real: lint, tests, main job."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from .conftest import (
    DEFAULT_PACKAGE,
    DEFAULT_SLUG,
    DefaultSuite,
    check_suite_summary,
    clean_env,
    run,
    timed,
)

# The other tasks' projects (and the docker family, on the feature-store project) start in the
# background with this module, and run beside it.
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("docker_run", "other_tasks")]


def test_make_help_documents_every_target(project: Path) -> None:
    listed = run(["make", "help"], cwd=project).stdout
    makefile = (project / "Makefile").read_text()
    targets = re.findall(r"^([a-z-]+):.*## ", makefile, flags=re.M)
    assert {"setup", "ingest", "all", "test", "lint", "bench"} <= set(targets)
    for target in targets:
        assert re.search(rf"^\s+{target}\s", listed, flags=re.M), target


def test_generated_project_lints_clean(project: Path, uv: str) -> None:
    with timed("default: make lint"):
        run(["make", "lint", f"UV={uv}"], cwd=project)


def test_generated_project_tests_pass(project: Path, uv: str, default_suite: DefaultSuite) -> None:
    """Its suite, in the two parts it ran in (conftest.DefaultSuite), passed; and the parts are
    the whole suite: what they passed is what the suite collects."""
    passed = 0
    for part, result in default_suite.wait().items():
        if isinstance(result, str):
            pytest.fail(f"default project ({part}): {result}")
        if result.returncode != 0:
            pytest.fail(
                f"default project ({part}): make test exited {result.returncode}\n"
                f"{result.stdout[-6000:]}\n--- stderr ---\n{result.stderr[-3000:]}"
            )
        # The task part deselects the task-neutral tests; the task-neutral part names its own.
        name = f"default project ({part})"
        passed += check_suite_summary(result.stdout, name, deselected=part == "task")
    assert set(default_suite.results) == set(DefaultSuite.PARTS)
    collect = [uv, "run", "--locked", "pytest", "-p", "no:cacheprovider", "--collect-only", "-q"]
    listed = run([*collect, "-m", "not docker"], cwd=project).stdout
    (collected,) = re.findall(r"^(\d+)(?:/\d+)? tests? collected", listed, flags=re.M)
    assert passed == int(collected), f"the parts ran {passed} of the suite's {collected} tests"


def test_main_job_closes_the_loop_and_stays_inside_the_project(
    project: Path, closed_loop: tuple[str, Path, dict[str, str]]
) -> None:
    """Ingest, train, serve, traffic, drift, retrain, reload; HOME stays empty."""
    loop, home, env = closed_loop
    assert "the service now answers with v2" in loop, loop
    assert re.search(r"^monitor .* drifted none \(share 0\.00\) -> none", loop, flags=re.M), loop
    assert re.search(r"^monitor .* -> retrain; promoted to champion", loop, flags=re.M), loop
    # The summary ends with the page to open first.
    last = loop.strip().splitlines()[-1]
    assert last == f"system report: {project / 'reports' / 'index.html'}", last
    page = (project / "reports" / "index.html").read_text()
    assert "champion <b>v2</b>" in page and "<td>retrain</td>" in page

    status = json.loads(
        run(
            [str(project / ".venv" / "bin" / DEFAULT_SLUG), "status", "--json"],
            cwd=project,
            env=env,
        ).stdout
    )
    ingestion = status["ingestion"]
    assert ingestion["validated_batches"] == 2  # the first batch, then the drifted one
    assert ingestion["last_run"]["status"] == "validated"
    assert Path(ingestion["last_run"]["path"]).is_relative_to(project)
    assert status["tools"]["data_docs"] == str(project / "reports" / "data_docs" / "index.html")

    registry = status["registry"]
    assert registry["tracking_uri"] == f"sqlite:///{project / 'mlflow.db'}"
    assert registry["versions"] == 2
    assert registry["champion"]["version"] == "2"
    assert registry["champion"]["gate"] == "passed"
    # What decided it, first and in words: the retrain beat v1 on the same holdout.
    assert registry["champion"]["gate_decision"].startswith("beats the champion"), registry
    assert registry["champion"]["metrics"]["roc_auc"] > 0.75
    cards = sorted((project / "reports" / "training").glob("*/model_card.md"))
    assert len(cards) == 2 and "promoted to champion" in cards[-1].read_text()
    assert list((project / "mlartifacts").rglob("model.skops"))

    monitoring = [
        json.loads(line)
        for line in (project / "data" / "monitoring_log.jsonl").read_text().splitlines()
    ]
    assert [run["action"] for run in monitoring] == ["none", "retrain"]
    assert monitoring[-1]["retrained"]["promoted"] is True
    assert monitoring[-1]["service"].startswith("serving v2")
    reports = sorted((project / "reports" / "monitoring").glob("*.html"))
    assert len(reports) == 2 and all(r.stat().st_size > 100_000 for r in reports)
    predictions = (project / "data" / "predictions" / "prediction_log.jsonl").read_text()
    assert len(predictions.splitlines()) == 4_001  # two windows of traffic, then the check
    assert sorted(p.name for p in home.rglob("*")) == []


def test_dashboard_serves_the_monitoring_runs(
    project: Path, closed_loop: tuple[str, Path, dict[str, str]], tmp_path: Path
) -> None:
    """After the loop: the dashboard command starts Evidently's UI over the project's workspace
    on 127.0.0.1, with the project, one snapshot per judged monitoring run and one per window
    of online metrics (the loop's traffic is served within the same hour)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cli = str(project / ".venv" / "bin" / DEFAULT_SLUG)
    process = subprocess.Popen(
        [cli, "dashboard", "--port", str(port)],
        cwd=project,
        env=clean_env(HOME=str(tmp_path)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        projects = get_json(f"http://127.0.0.1:{port}/api/projects", process)
        assert [p["name"] for p in projects] == [DEFAULT_PACKAGE]
        runs = get_json(f"http://127.0.0.1:{port}/api/projects/{projects[0]['id']}/snapshots")
        tags = sorted(tuple(run["tags"]) for run in runs)
        assert tags[:2] == [("drift",), ("drift",)], tags
        assert tags[2:] and all(tag[0] == "online" for tag in tags[2:]), tags
    finally:
        process.terminate()
        process.wait(timeout=30)


def path_without(*commands: str) -> str:
    """This process's PATH less every directory that holds one of `commands`."""
    kept = [
        folder
        for folder in os.environ.get("PATH", "").split(os.pathsep)
        if folder and not any((Path(folder) / command).exists() for command in commands)
    ]
    return os.pathsep.join(kept)


def get_json(url: str, process: subprocess.Popen[bytes] | None = None) -> Any:
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return json.loads(response.read())
        except OSError:
            if time.monotonic() > deadline or (process and process.poll() is not None):
                raise
            time.sleep(0.5)


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
    """As a user runs it: an empty HOME, and the only uv the one `make` is given (none on PATH,
    where BentoML would otherwise find one and hide that it needs one)."""
    home = tmp_path / "home"
    home.mkdir()
    cache = run([uv, "cache", "dir"], cwd=project).stdout.strip()
    env = clean_env(HOME=str(home), UV_CACHE_DIR=cache, PATH=path_without("uv"))
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
    probe = f"import {DEFAULT_PACKAGE}.serving.service as s; print(s.PredictionService.name)"
    result = run([str(venv / "bin" / "python"), "-c", probe], cwd=tmp_path, env=clean_env())
    assert result.stdout.strip().endswith("prediction_service")
