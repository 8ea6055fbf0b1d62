"""Every other task the template offers, and the default task with the feature store, baked and
run for real like the default: its linters, its own test suite (what its answers change), and
its whole loop (`make all`). The runs started in the background with the default project's
tests (conftest.TaskRun); these tests read their results."""

from __future__ import annotations

import json
import os
import re

import pytest
import yaml

from .conftest import DEFAULT_SLUG, VARIANTS, DockerRun, TaskRun, check_suite_summary

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("task", VARIANTS)
def test_the_project_lints_clean(other_tasks: dict[str, TaskRun], task: str) -> None:
    other_tasks[task].result("lint")


@pytest.mark.parametrize("task", VARIANTS)
def test_the_projects_own_tests_pass(other_tasks: dict[str, TaskRun], task: str) -> None:
    output = other_tasks[task].result("test").stdout
    # Deselected: the servers family, which the default project's suite runs (conftest.TASK_TESTS).
    check_suite_summary(output, task)


@pytest.mark.parametrize("task", VARIANTS)
def test_the_whole_loop_runs_on_the_tasks_worked_example(
    other_tasks: dict[str, TaskRun], task: str
) -> None:
    loop = other_tasks[task].result("all").stdout
    assert re.search(r"^monitor .* -> none$", loop, flags=re.M), loop
    assert re.search(r"^monitor .* -> retrain; promoted to champion", loop, flags=re.M), loop
    assert "the service now answers with v2" in loop, loop
    if task == "feast":  # requests carried user ids: the features came from the store
        assert re.search(r"^features .* online store fresh", loop, flags=re.M), loop
        log = other_tasks[task].project / "data" / "predictions" / "prediction_log.jsonl"
        assert '"user_id": "user-' in log.read_text() or '"user_id":"user-' in log.read_text()
    project = other_tasks[task].project
    cards = sorted((project / "reports" / "training").glob("*/model_card.md"))
    assert len(cards) == 2
    package = project / "src" / project.name.replace("-", "_")
    requirements = yaml.safe_load((package / "requirements" / "requirements.yaml").read_text())
    primary = requirements["offline_metrics"]["primary"]
    card = cards[-1].read_text()
    assert f"Primary metric: `{primary}`" in card and f"| {primary} |" in card


def test_docker_images_build_and_the_compose_stack_serves(docker_run: DockerRun) -> None:
    """The docker family of the project with the feature store (the default project's images
    and stack, plus Feast in both images and Redis in the stack), on an engine this session
    started where none ran: both images built, their users and packages, compose.yaml up, a
    champion trained through the worker's deployments and served with features looked up in
    Redis, `down -v` clean."""
    docker_run.wait()
    if docker_run.engine_note:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the docker family: {docker_run.engine_note}")
        pytest.skip(docker_run.engine_note)
    assert not docker_run.error, docker_run.error
    result = docker_run.result
    assert result is not None, "the docker family did not run"
    summary = re.findall(r"^=+ (.*) in [\d.]+s.* =+$", result.stdout, flags=re.M)
    # What failed first (pytest's `-ra` lines, each with the start of its message: a fixture's
    # error carries the compose logs after it), then the end of the run.
    lines = result.stdout.splitlines()
    failed = [i for i, line in enumerate(lines) if re.match(r"(ERROR|FAILED) tests/", line)]
    headlines = "\n".join("\n".join(lines[i : i + 12])[:3000] for i in failed[:2])
    output = f"{headlines}\n...\n{result.stdout[-5000:]}\n{result.stderr[-3000:]}"
    assert summary and re.fullmatch(r"4 passed, \d+ deselected", summary[-1]), output
    report = json.loads((docker_run.project / "build" / "docker-report.json").read_text())
    # Which base images were stand-ins (docker_engine.py), and what the family measured.
    print(json.dumps({"provided": docker_run.images, "report": report}, indent=2))
    assert set(report["images"]) == {f"{DEFAULT_SLUG}-serving", f"{DEFAULT_SLUG}-worker"}
