"""Every supported option combination bakes to the exact expected tree, clean and lint-free."""

from __future__ import annotations

import itertools
import json
import math
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

from .conftest import REPO, TEMPLATE_OPTIONS, bake, clean_env, run
from .test_hooks import POST_GEN, PRE_GEN

# Every file of the default project; `{package}` is the package directory.
EXPECTED_FILES = [
    "project.env",
    "bench/feature_store.py",
    ".cruft.json",
    ".dockerignore",
    ".env.example",
    ".gitignore",
    ".pre-commit-config.yaml",
    ".python-version",
    ".github/dependabot.yml",
    ".github/workflows/ci.yml",
    ".github/workflows/newest-dependencies.yml",
    "LICENSE",
    "Makefile",
    "README.md",
    "bentofile.yaml",
    "compose.yaml",
    "pyproject.toml",
    "uv.lock",
    "bench/candidates.py",
    "bench/contract_tolerance.py",
    "bench/golden_path.py",
    "bench/harness.py",
    "bench/ingestion.py",
    "bench/monitoring.py",
    "bench/online.py",
    "bench/scaling.py",
    "bench/serving.py",
    "bench/soak.py",
    "bench/stack.py",
    "bench/startup.py",
    "bench/training.py",
    "bench/your_own_data.py",
    "docker/certs/README.md",
    "docker/serving.Dockerfile",
    "docker/worker.Dockerfile",
    "src/{package}/__init__.py",
    "src/{package}/__main__.py",
    "src/{package}/cli.py",
    "src/{package}/cluster.py",
    "src/{package}/credentials.py",
    "src/{package}/deployments.py",
    "src/{package}/flows.py",
    "src/{package}/errors.py",
    "src/{package}/loop.py",
    "src/{package}/preflight.py",
    "src/{package}/processes.py",
    "src/{package}/progress.py",
    "src/{package}/report.py",
    "src/{package}/runtime.py",
    "src/{package}/seeds.py",
    "src/{package}/settings.py",
    "src/{package}/stack.py",
    "src/{package}/status.py",
    "src/{package}/stopwatch.py",
    "src/{package}/task.py",
    "src/{package}/requirements/README.md",
    "src/{package}/requirements/__init__.py",
    "src/{package}/requirements/metrics.py",
    "src/{package}/requirements/requirements.yaml",
    "src/{package}/requirements/spec.py",
    "src/{package}/contract/README.md",
    "src/{package}/contract/__init__.py",
    "src/{package}/contract/bounds.py",
    "src/{package}/contract/column_types.py",
    "src/{package}/contract/contract.yaml",
    "src/{package}/contract/inference.py",
    "src/{package}/contract/prediction.py",
    "src/{package}/contract/spec.py",
    "src/{package}/contract/target.py",
    "src/{package}/contract/tolerance.py",
    "src/{package}/contract/diff.py",
    "src/{package}/contract/values.py",
    "src/{package}/data/README.md",
    "src/{package}/data/__init__.py",
    "src/{package}/data/batches.py",
    "src/{package}/data/feature_store.py",
    "src/{package}/data/replay.py",
    "src/{package}/data/flow.py",
    "src/{package}/data/folder.py",
    "src/{package}/data/ingestion.py",
    "src/{package}/data/synthetic.py",
    "src/{package}/data/validation.py",
    "src/{package}/data/validated.py",
    "src/{package}/data/offline_docs.py",
    "src/{package}/data/docs_assets/bootstrap-dark/LICENSE",
    "src/{package}/data/docs_assets/bootstrap-dark/bootstrap-prefers-dark.min.css",
    "src/{package}/data/docs_assets/bootstrap-datepicker/LICENSE",
    "src/{package}/data/docs_assets/bootstrap-datepicker/bootstrap-datepicker.min.css",
    "src/{package}/data/docs_assets/bootstrap-datepicker/bootstrap-datepicker.min.js",
    "src/{package}/data/docs_assets/bootstrap-table/LICENSE",
    "src/{package}/data/docs_assets/bootstrap-table/bootstrap-table-filter-control.min.css",
    "src/{package}/data/docs_assets/bootstrap-table/bootstrap-table-filter-control.min.js",
    "src/{package}/data/docs_assets/bootstrap-table/bootstrap-table.min.css",
    "src/{package}/data/docs_assets/bootstrap-table/bootstrap-table.min.js",
    "src/{package}/data/docs_assets/bootstrap/LICENSE",
    "src/{package}/data/docs_assets/bootstrap/bootstrap.min.css",
    "src/{package}/data/docs_assets/bootstrap/bootstrap.min.js",
    "src/{package}/data/docs_assets/fontawesome/LICENSE.txt",
    "src/{package}/data/docs_assets/fontawesome/css/all.min.css",
    "src/{package}/data/docs_assets/fontawesome/webfonts/fa-brands-400.woff2",
    "src/{package}/data/docs_assets/fontawesome/webfonts/fa-regular-400.woff2",
    "src/{package}/data/docs_assets/fontawesome/webfonts/fa-solid-900.woff2",
    "src/{package}/data/docs_assets/fontawesome/webfonts/fa-v4compatibility.woff2",
    "src/{package}/data/docs_assets/jquery/LICENSE.txt",
    "src/{package}/data/docs_assets/jquery/jquery.min.js",
    "src/{package}/data/docs_assets/popper/popper.min.js",
    "src/{package}/data/docs_assets/sources.json",
    "src/{package}/modeling/README.md",
    "src/{package}/modeling/__init__.py",
    "src/{package}/modeling/candidates.py",
    "src/{package}/modeling/compiled.py",
    "src/{package}/modeling/features.py",
    "src/{package}/modeling/scoring.py",
    "src/{package}/modeling/selection.py",
    "src/{package}/training/README.md",
    "src/{package}/training/__init__.py",
    "src/{package}/training/bootstrap.py",
    "src/{package}/training/plots.py",
    "src/{package}/training/dataset.py",
    "src/{package}/training/evaluation.py",
    "src/{package}/training/flow.py",
    "src/{package}/training/gate.py",
    "src/{package}/training/integrity.py",
    "src/{package}/training/judging.py",
    "src/{package}/training/model_card.py",
    "src/{package}/training/registry.py",
    "src/{package}/training/registry_status.py",
    "src/{package}/training/registry_view.py",
    "src/{package}/training/scoring.py",
    "src/{package}/training/search.py",
    "src/{package}/training/steps.py",
    "src/{package}/serving/README.md",
    "src/{package}/serving/__init__.py",
    "src/{package}/serving/batch.py",
    "src/{package}/serving/endpoints.py",
    "src/{package}/serving/flow.py",
    "src/{package}/serving/guard.py",
    "src/{package}/serving/local.py",
    "src/{package}/serving/prediction_log.py",
    "src/{package}/serving/schemas.py",
    "src/{package}/serving/scorer.py",
    "src/{package}/serving/service.py",
    "src/{package}/serving/split.py",
    "src/{package}/monitoring/README.md",
    "src/{package}/monitoring/__init__.py",
    "src/{package}/monitoring/drift.py",
    "src/{package}/monitoring/experiment.py",
    "src/{package}/monitoring/experiment_flow.py",
    "src/{package}/monitoring/flow.py",
    "src/{package}/monitoring/labels_flow.py",
    "src/{package}/monitoring/online.py",
    "src/{package}/monitoring/quality.py",
    "src/{package}/monitoring/retrain.py",
    "src/{package}/monitoring/stattests.py",
    "src/{package}/monitoring/steps.py",
    "src/{package}/monitoring/windows.py",
    "src/{package}/monitoring/workspace.py",
    "tests/conftest.py",
    "tests/worked_example.py",
    "tests/code/example_target.py",
    "tests/code/test_batches.py",
    "tests/code/test_column_types.py",
    "tests/code/test_commands.py",
    "tests/code/test_readmes.py",
    "tests/code/test_contract.py",
    "tests/code/test_credentials.py",
    "tests/code/test_dataset.py",
    "tests/code/test_drift.py",
    "tests/code/test_evaluation.py",
    "tests/code/test_gate.py",
    "tests/code/test_inference.py",
    "tests/code/test_search.py",
    "tests/code/test_seeds.py",
    "tests/code/test_ingestion.py",
    "tests/code/test_online.py",
    "tests/code/test_prediction_log.py",
    "tests/code/test_progress.py",
    "tests/code/test_report.py",
    "tests/code/test_requirements.py",
    "tests/code/test_settings.py",
    "tests/code/test_synthetic.py",
    "tests/code/test_target.py",
    "tests/code/test_task.py",
    "tests/data/test_validation.py",
    "tests/data/test_tolerance.py",
    "tests/data/test_offline_docs.py",
    "tests/deploy/test_deployment_files.py",
    "tests/deploy/test_docker.py",
    "tests/deploy/test_stack.py",
    "tests/deploy/test_worker.py",
    "tests/e2e/test_batch_scoring.py",
    "tests/e2e/test_compiled_scoring.py",
    "tests/e2e/test_dask.py",
    "tests/e2e/test_experiment_flow.py",
    "tests/e2e/test_feature_store.py",
    "tests/e2e/test_failure_modes.py",
    "tests/e2e/test_your_own_data.py",
    "tests/e2e/test_ingestion_flow.py",
    "tests/e2e/test_labels_flow.py",
    "tests/e2e/test_monitoring_flow.py",
    "tests/e2e/test_serving.py",
    "tests/e2e/test_training_flow.py",
    "tests/e2e/test_trust.py",
    "tests/model/test_candidates.py",
    "tests/model/test_compiled.py",
    "tests/model/test_experiment.py",
]

# What each non-default answer removes or adds: written out here, independently of the hook.
REMOVED_BY = {
    ("ci", "none"): {
        ".github/dependabot.yml",
        ".github/workflows/ci.yml",
        ".github/workflows/newest-dependencies.yml",
    },
    ("feature_store", "none"): {"tests/e2e/test_feature_store.py", "bench/feature_store.py"},
}
ADDED_BY = {("problem_type", "ranking"): {"tests/e2e/test_ranking_api.py"}}

LICENSE_MARKERS = {
    "MIT": "MIT License",
    "Apache-2.0": "Apache License",
    "BSD-3-Clause": "BSD 3-Clause License",
    "Proprietary": "All rights reserved.",
}

OPTION_NAMES = ("problem_type", "python_version", "license", "feature_store", "ci")
VARIANT_TASKS = POST_GEN.variant_tasks(REPO / "{{cookiecutter.project_slug}}")
# Every combination the pre-generation hook accepts: the feature store needs a worked example
# with entity features (test_hooks.py checks the others are refused).
COMBINATIONS = [
    combination
    for combination in itertools.product(*(TEMPLATE_OPTIONS[name] for name in OPTION_NAMES))
    if combination[3] == "none" or combination[0] in PRE_GEN.FEATURE_STORE_TASKS
]


def expected_tree(package: str, answers: dict[str, str]) -> set[str]:
    answers = {name: TEMPLATE_OPTIONS[name][0] for name in OPTION_NAMES} | answers
    files = {path.format(package=package) for path in EXPECTED_FILES}
    for (option, value), removed in REMOVED_BY.items():
        if answers.get(option) == value:
            files -= removed
    for (option, value), added in ADDED_BY.items():
        if answers.get(option) == value:
            files |= added
    return files


def baked_files(project: Path) -> set[str]:
    return {str(p.relative_to(project)) for p in project.rglob("*") if p.is_file()}


def test_every_choice_is_covered() -> None:
    choice_options = {
        k for k, v in TEMPLATE_OPTIONS.items() if isinstance(v, list) and not k.startswith("_")
    }
    assert choice_options == set(OPTION_NAMES)
    tasks = TEMPLATE_OPTIONS["problem_type"]
    with_feature_store = [task for task in tasks if task in PRE_GEN.FEATURE_STORE_TASKS]
    others = math.prod(
        len(TEMPLATE_OPTIONS[name]) for name in OPTION_NAMES[1:] if name != "feature_store"
    )
    assert len(COMBINATIONS) == (len(tasks) + len(with_feature_store)) * others
    assert set(TEMPLATE_OPTIONS["problem_type"]) <= set(VARIANT_TASKS)


@pytest.mark.parametrize("combination", COMBINATIONS, ids=["-".join(c) for c in COMBINATIONS])
def test_combination_bakes_clean(combination: tuple[str, ...], tmp_path: Path) -> None:
    answers = dict(zip(OPTION_NAMES, combination, strict=True))
    project = bake(tmp_path, **answers)

    assert baked_files(project) == expected_tree(project.name.replace("-", "_"), answers)
    for path in project.rglob("*"):
        assert not re.search(r"\{\{|\{%|\{#", path.name), path
        assert not any(f".{task}." in path.name for task in VARIANT_TASKS), path
        if path.is_file() and "docs_assets" not in path.parts:  # vendored, copied unrendered
            assert not re.search(r"\{\{|\{%|\{#", path.read_text(encoding="utf-8")), path

    meta = tomllib.loads((project / "pyproject.toml").read_text())
    version = answers["python_version"]
    assert meta["tool"]["ruff"]["target-version"] == "py" + version.replace(".", "")
    assert meta["tool"]["mypy"]["python_version"] == version
    assert (project / ".python-version").read_text().strip() == version
    assert LICENSE_MARKERS[answers["license"]] in (project / "LICENSE").read_text()
    if answers["ci"] == "github":
        workflow = yaml.safe_load((project / ".github/workflows/ci.yml").read_text())
        steps = workflow["jobs"]["test"]["steps"]
        assert any(s.get("with", {}).get("python-version") == version for s in steps)
        assert {"make setup", "make lint", "make test"} <= {s.get("run") for s in steps}
        # The docker family runs in its own job, with the official base images.
        assert (
            "not docker"
            in next(s for s in steps if s.get("run") == "make test")["env"]["PYTEST_ADDOPTS"]
        )
        docker_steps = workflow["jobs"]["docker"]["steps"]
        assert {"make setup", "make test-docker"} <= {s.get("run") for s in docker_steps}

    groups = meta["tool"]["uv"]["default-groups"]
    assert ("feature-store" in groups) == (answers["feature_store"] == "feast")
    project_env = (project / "project.env").read_text()
    assert f"MLSD_FEATURE_STORE={answers['feature_store']}\n" in project_env
    # The compose stack runs Redis, and both images and the Bento install Feast, only with the
    # feature store.
    compose = yaml.safe_load((project / "compose.yaml").read_text())
    assert ("redis" in compose["services"]) == (answers["feature_store"] == "feast")
    for installer in ("docker/serving.Dockerfile", "docker/worker.Dockerfile", "Makefile"):
        text = (project / installer).read_text()
        assert ("--group feature-store" in text) == (answers["feature_store"] == "feast"), installer

    # Generated code is already formatted and lint-free, with the project's own ruff settings.
    run(["ruff", "check", "--no-cache", "."], cwd=project, env=clean_env())
    run(["ruff", "format", "--check", "--no-cache", "."], cwd=project, env=clean_env())


def test_custom_names_flow_everywhere(tmp_path: Path, uv: str) -> None:
    project = bake(
        tmp_path,
        project_name="Fraud Detection",
        project_slug="fraud-detection",
        package_name="fraud_shield",
    )
    assert project.name == "fraud-detection"
    assert baked_files(project) == expected_tree("fraud_shield", {})
    meta = tomllib.loads((project / "pyproject.toml").read_text())
    assert meta["project"]["name"] == "fraud-detection"
    assert meta["project"]["scripts"] == {"fraud-detection": "fraud_shield.cli:main"}
    assert "fraud-detection" in (project / "Makefile").read_text()
    # The lock file shipped in the template matches this project's pyproject as it is, with
    # the feature store's group installed by default or not.
    run([uv, "lock", "--check"], cwd=project)
    feast = bake(tmp_path / "feast", feature_store="feast")
    run([uv, "lock", "--check"], cwd=feast)


AD_CLICK_WORDS = re.compile(r"click|impression|\bads?\b", re.IGNORECASE)


def test_texts_follow_the_project_name(tmp_path: Path) -> None:
    """Another name gets its own title, description, service and Bento; ad clicks appear only
    where the README introduces the worked example, and in the example's own files."""
    project = bake(tmp_path, project_name="Churn Radar")
    readme = (project / "README.md").read_text()
    title, description = readme.splitlines()[0], readme.split("\n\n")[1]
    assert title == "# Churn Radar"
    assert description.startswith("Churn Radar: a 7-step ML system")
    assert AD_CLICK_WORDS.findall(title + description) == []
    meta = tomllib.loads((project / "pyproject.toml").read_text())
    assert meta["project"]["description"] == description
    for paragraph in readme.split("\n\n")[2:]:
        if AD_CLICK_WORDS.search(paragraph):
            assert "worked example" in paragraph or "synthetic" in paragraph, paragraph
    bento = yaml.safe_load((project / "bentofile.yaml").read_text())
    assert bento["name"] == "churn-radar-service"
    assert bento["service"] == "churn_radar.serving.service:PredictionService"
    package = project / "src" / "churn_radar"
    # What writes about the user's data (the service and its schemas, the model card, the
    # contract inference, the replay, monitoring) never speaks of ad clicks.
    speaking = [*(package / "serving").glob("*.py"), *(package / "monitoring").glob("*.py")]
    speaking += [package / "training" / "model_card.py", package / "contract" / "inference.py"]
    speaking += [package / "data" / "replay.py", package / "training" / "evaluation.py"]
    for path in speaking:
        assert AD_CLICK_WORDS.findall(path.read_text()) == [], path


def test_readme_gives_exactly_the_two_setup_commands() -> None:
    readme = (REPO / "README.md").read_text()
    blocks = re.findall(r"```(?:bash|sh)\n(.*?)```", readme, flags=re.S)
    commands = [line.split("#")[0].strip() for line in blocks[0].splitlines() if line.strip()]
    assert commands == ["make demo", "make test"]
    assert "make test" in (REPO / ".ci" / "run").read_text()
    targets = subprocess.run(
        ["make", "-qp"], cwd=REPO, capture_output=True, text=True, check=False
    ).stdout
    assert re.search(r"^demo:", targets, flags=re.M) and re.search(r"^test:", targets, flags=re.M)


# Wording true only of a binary classification (or of no task at all), that another task's
# READMEs must not hold: the kind of target, its example table, a feature store the hook
# refuses for that task, a limit the gate no longer has.
BINARY_WORDING = (
    r"binary target|two named|0/1, true/false|churn\.csv|positive class of|feature_store: feast"
)
NOT_THIS_TASK = {
    "regression": BINARY_WORDING,
    "ranking": BINARY_WORDING,
    "multiclass": BINARY_WORDING,
    "binary_classification": r"a quantity \(any int|relevance grade as target|three or more "
    r"classes \(ints",
}
FALSE_EVERYWHERE = r"One holdout, no confidence intervals"


@pytest.mark.parametrize("task", TEMPLATE_OPTIONS["problem_type"])
def test_readmes_speak_of_the_task_that_was_baked(task: str, tmp_path: Path) -> None:
    """Every README of a baked project: nothing another task's wording, the own-data steps in
    order, one example table throughout."""
    project = bake(tmp_path, problem_type=task)
    readmes = sorted(project.rglob("README.md"))
    assert len(readmes) >= 8
    for readme in readmes:
        text = readme.read_text()
        wrong = re.findall(f"{NOT_THIS_TASK[task]}|{FALSE_EVERYWHERE}", text, flags=re.I)
        assert not wrong, (readme.relative_to(project), wrong)
    main = (project / "README.md").read_text()
    own = main[main.index("## Bring your own data") :]
    numbers = re.findall(r"^\| (\d+|all) \| (?:\d+|all) \| ", own, flags=re.M)
    assert numbers[:-1] == [str(n) for n in range(1, len(numbers))], numbers
    tables = set(re.findall(r"\b[a-z_]+\.csv\b", own)) - {
        "labelled.csv",
        "new.csv",
        "outcomes.csv",
        "your.csv",
    }
    assert len(tables) == 1, tables  # one example table, named the same everywhere
    # Your own data comes near the top: in the first screenful of the README.
    assert main.index("Your own data in three commands") < 2_500


# The prose that varies by task: one fragment per task (templates/task/<task>.md), whose macros
# and variables the README and config files call as `task.<name>`.
FRAGMENTS = REPO / "templates" / "task"
FRAGMENT_NAME = re.compile(r"\{%-?\s*(?:macro|set)\s+(\w+)")
CALL = re.compile(r"\{\{-?\s*task\.(\w+)")


def fragment_names(task: str) -> set[str]:
    return set(FRAGMENT_NAME.findall((FRAGMENTS / f"{task}.md").read_text()))


def test_every_task_has_a_fragment_with_every_name_the_template_calls() -> None:
    called: set[str] = set()
    for path in (REPO / "{{cookiecutter.project_slug}}").rglob("*"):
        if path.is_file() and path.suffix not in {".py", ".woff2", ".lock"}:
            called |= set(CALL.findall(path.read_text(errors="ignore")))
    assert called, "no file calls its task's fragment"
    for task in VARIANT_TASKS:
        assert fragment_names(task) == called, task


def test_a_task_without_its_fragment_fails_the_bake_before_a_project_exists(
    tmp_path: Path,
) -> None:
    """A new task offered in cookiecutter.json but given no prose of its own is refused: no
    README silently says another task's words."""
    template = tmp_path / "template"
    shutil.copytree(
        REPO,
        template,
        ignore=shutil.ignore_patterns(".git", ".venv", ".tools", "build", "__pycache__"),
    )
    options = json.loads((template / "cookiecutter.json").read_text())
    options["problem_type"].append("forecasting")
    (template / "cookiecutter.json").write_text(json.dumps(options))
    with pytest.raises(Exception, match=r"task/forecasting\.md"):
        bake(tmp_path / "out", template=template, problem_type="forecasting")
    assert not any((tmp_path / "out").glob("*/README.md"))
